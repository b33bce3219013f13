"""A real storyline server on a free localhost port, for the API and browser tests."""
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db, token=None, max_body=None, tmp=None, config="", extra=(), pre=(), stderr=None, env_extra=None):
        self.port = free_port()
        self.tmp = tmp or os.path.dirname(str(db))
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(self.tmp, "cache"))  # a PostgreSQL store's index
        env.pop("STORYLINE_TOKEN", None)
        if token:
            env["STORYLINE_TOKEN"] = token
        env |= env_extra or {}
        args = [sys.executable, "-m", "storyline.cli", *pre]
        if max_body:
            config = f"[serve]\nmax_body_bytes = {max_body}\n" + config
        if config:
            cfg = os.path.join(self.tmp, "server.toml")
            with open(cfg, "w") as fh:
                fh.write(config)
            args += ["--config", cfg]
        self.proc = subprocess.Popen(args + ["serve", "--port", str(self.port), "--db", str(db), *extra], env=env,
                                     stderr=stderr)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
