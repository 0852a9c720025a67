"""A PostgreSQL server of a test's own: Debian's binaries (`make postgres` installs
them), a cluster made in a temporary directory, listening on a free loopback port.

Debian's initdb and postgres refuse to run as root, so they run as the `postgres`
user the package made, in a directory it owns.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


class PostgresServer:
    def __init__(self, port: int):
        assert BINARIES, "PostgreSQL is not installed: run `make postgres` (or `make test`)"
        self.bin = BINARIES[-1]  # the newest version installed
        self.dir = Path(tempfile.mkdtemp(prefix="digit-reader-postgres-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/feedback"
        self.as_postgres("initdb", "--auth=trust", "--username=postgres", "-D", self.dir / "data")
        # fsync stays on: the tests count on acknowledged rows outliving a killed worker.
        self.as_postgres("pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-w", "start", "-o",
                         f"-h 127.0.0.1 -p {port} -k {self.dir} -c max_connections=200")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE feedback")

    def as_postgres(self, program: str, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / program), *map(str, args)],
                       check=True, capture_output=True, cwd=self.dir)

    def stop(self):
        self.as_postgres("pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
