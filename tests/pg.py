"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temp dir, a free port.

The server refuses to run as root, so as root it runs as the ``postgres`` user (``runuser``).
"""
import glob
import itertools
import os
import shutil
import subprocess
import tempfile

from .server import free_port


def bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


def _memory_dir() -> str | None:
    """/dev/shm where it has room: the cluster's files never reach the disk, so creating a database
    takes a third of the time and removing fifty at the end no longer waits on the disk (it took
    30-60 s of a loaded machine's ext4 with discard); elsewhere the usual temp dir."""
    try:
        return "/dev/shm" if shutil.disk_usage("/dev/shm").free > 2**31 else None
    except OSError:
        return None


class Postgres:
    def __init__(self):
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
        self.dir = tempfile.mkdtemp(prefix="storyline-pg-", dir=_memory_dir())
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.resume()
        self._names = itertools.count(1)

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(self.as_user + [os.path.join(self.bin, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.dir)

    def address(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_db(self) -> str:
        """A new empty database; its address."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.address(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.address(name)

    def halt(self) -> None:
        """An outage: the server stops, its data stays (``resume`` starts it again on the same port)."""
        self._run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-w", "-l", os.path.join(self.dir, "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c max_connections=200", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
