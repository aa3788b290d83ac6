"""Throwaway PostgreSQL servers for the test suite.

Tests talk to a real PostgreSQL (not a mock), but nothing outside the test run may be relied on:
no system service, no fixed port, no shared data directory.  `PostgresServer` therefore runs
`initdb` into a fresh temporary directory and starts a private postmaster on a free port with
durability switched off (the data is thrown away anyway, so fsync only costs time).

PostgreSQL refuses to run as root, so when we are root every server command runs as the
`postgres` OS user via `runuser`, and the directories it needs are chowned to that user.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import LiteralString

SERVICE_USER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_CMD_TIMEOUT = 180  # seconds; generous for a loaded 2-core CI machine
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be had on this machine; the message is meant as a pytest skip reason."""


def install_allowed() -> bool:
    """Installing system packages is a side effect we only take where it was asked for."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("CAIRN_TEST_INSTALL") == "1"


def _version_key(bindir: str) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<ver>/bin so the newest installed major wins."""
    ver = Path(bindir).parent.name
    return tuple(int(p) for p in ver.split(".") if p.isdigit())


def find_bindir() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres, or None.

    Order: $CAIRN_PG_BINDIR, then whatever `pg_ctl` on PATH resolves to, then Debian's
    versioned /usr/lib/postgresql/<ver>/bin (Debian keeps initdb off PATH).
    """
    candidates: list[Path] = []
    if env := os.environ.get("CAIRN_PG_BINDIR"):
        candidates.append(Path(env))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), key=_version_key, reverse=True
    )
    candidates += [Path(p) for p in debian]
    for cand in candidates:
        if all(os.access(cand / exe, os.X_OK) for exe in _SERVER_BINARIES):
            return cand
    return None


def _apt_install_postgresql() -> None:
    """`apt-get install postgresql`, serialized across xdist workers (dpkg holds one lock)."""
    from filelock import FileLock  # a cairn dependency; imported late so discovery needs nothing

    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL server binaries not found and apt-get is unavailable")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise PostgresUnavailable("PostgreSQL not found; installing it needs root or sudo")
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = Path(tempfile.gettempdir()) / "cairn-pg-install.lock"
    with FileLock(str(lock), timeout=900):
        if find_bindir() is not None:  # another worker finished the install while we waited
            return
        install = ["install", "-y", "-q", "--no-install-recommends", "postgresql"]
        for args in (["update", "-q"], install):
            proc = subprocess.run(
                [*prefix, "apt-get", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if proc.returncode != 0:  # asked to install and could not: an error, not a skip
                raise RuntimeError(
                    f"apt-get {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
                )


def ensure_bindir() -> Path:
    """Find the server binaries, installing them first when `install_allowed()`."""
    if (bindir := find_bindir()) is not None:
        return bindir
    if not install_allowed():
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install the "
            "'postgresql' package, set CAIRN_PG_BINDIR, or set CAIRN_TEST_INSTALL=1 to let the "
            "tests apt-get install it"
        )
    _apt_install_postgresql()
    if (bindir := find_bindir()) is None:
        raise RuntimeError("apt-get installed postgresql but initdb/pg_ctl/postgres were not found")
    return bindir


def _service_account() -> pwd.struct_passwd | None:
    """The account to run the server as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no {SERVICE_USER!r} OS user to run PostgreSQL as"
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and `runuser` is missing (util-linux)")
    return account


def _free_port() -> int:
    """A port the kernel just handed out; a race with another process is retried by start()."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """Our environment minus PG* variables (PGDATA, PGPORT, PGOPTIONS... would redirect us)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # the server's own messages; the cluster locale is set by initdb
    return env


class PostgresServer:
    """A private PostgreSQL cluster in a temporary directory, on a free 127.0.0.1 port.

    Usage: ``with PostgresServer() as pg: uri = pg.create_database("t1")``.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir if bindir is not None else ensure_bindir()
        self.account = _service_account()
        # /tmp rather than $TMPDIR: the socket path must stay under ~107 bytes and every
        # ancestor must be traversable by the postgres user.
        parent = "/tmp" if os.path.isdir("/tmp") else None
        self.base = Path(tempfile.mkdtemp(prefix="cairn-pg-", dir=parent))
        self.datadir = self.base / "data"
        self.sockdir = self.base / "sock"
        self.logfile = self.base / "server.log"
        self.port = 0
        self._running = False

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        """initdb + pg_ctl start; on any failure the directory is removed before re-raising."""
        try:
            self.sockdir.mkdir()
            if self.account is not None:
                for path in (self.base, self.sockdir):
                    os.chown(path, self.account.pw_uid, self.account.pw_gid)
            self._run(
                "initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres",
                "--no-sync", "-E", "UTF8", "--locale=C",
            )  # fmt: skip
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)  # safety net if the caller never reaches its own stop()
        return self

    def _start_on_free_port(self, attempts: int = 5) -> None:
        for _ in range(attempts):
            self.port = _free_port()
            log_offset = self.logfile.stat().st_size if self.logfile.exists() else 0
            opts = (
                f"-F -k {shlex.quote(str(self.sockdir))} -p {self.port} "
                "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=200"
            )
            proc = self._run(
                "pg_ctl", "start", "-w", "-t", "120", "-D", str(self.datadir),
                "-l", str(self.logfile), "-o", opts, check=False,
            )  # fmt: skip
            if proc.returncode == 0:
                self._running = True
                return
            log = self._log_tail(log_offset)
            if "already in use" not in log:  # lost the port race -> retry; anything else is real
                raise RuntimeError(f"pg_ctl start failed ({proc.returncode}):\n{proc.stdout}{log}")
        raise RuntimeError(f"could not find a free port for PostgreSQL in {attempts} attempts")

    def stop(self) -> None:
        """Kill the server (immediate: nothing to preserve) and remove its directory. Idempotent."""
        if self._running:
            self._running = False
            stop = ["stop", "-D", str(self.datadir), "-m", "immediate", "-w"]
            self._run("pg_ctl", *stop, check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- databases -------------------------------------------------------------------------

    def uri(self, name: str) -> str:
        """SQLAlchemy URI of database `name` (trust auth, so no password)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` and return its SQLAlchemy URI."""
        self._admin("CREATE DATABASE {}", name)
        return self.uri(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, terminating whatever connections a test left open (PostgreSQL >= 13)."""
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    @property
    def version(self) -> str:
        """The running server's version string, e.g. '15.18 (Debian 15.18-0+deb12u1)'."""
        import psycopg

        with psycopg.connect(**self._conninfo()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])

    def _conninfo(self) -> dict[str, str | int]:
        return {"host": "127.0.0.1", "port": self.port, "user": "postgres", "dbname": "postgres"}

    def _admin(self, template: LiteralString, name: str) -> None:
        """Run `template` with `name` quoted in; CREATE/DROP DATABASE can't run in a transaction."""
        import psycopg  # the [postgres] extra; imported late so discovery works without it
        from psycopg import sql

        query = sql.SQL(template).format(sql.Identifier(_check_name(name)))
        with psycopg.connect(**self._conninfo(), autocommit=True) as conn:
            conn.execute(query)

    # --- helpers ---------------------------------------------------------------------------

    def _run(self, exe: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the service account when we are root.

        cwd is our own directory: postgres may not be allowed to enter the caller's cwd.
        pg_ctl start gets `-l`, so the postmaster never inherits our captured pipes.
        """
        cmd = [str(self.bindir / exe), *args]
        if self.account is not None:
            cmd = ["runuser", "-u", self.account.pw_name, "--", *cmd]
        proc = subprocess.run(
            cmd,
            cwd=self.base,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_CMD_TIMEOUT,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{exe} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def _log_tail(self, offset: int = 0) -> str:
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as fh:
                fh.seek(offset)
                return fh.read()[-3000:]
        except OSError:
            return ""


def _check_name(name: str) -> str:
    """Plain lowercase names only: no quoting surprises, and no silent truncation at 63 bytes."""
    if not _DB_NAME.fullmatch(name):
        raise ValueError(f"invalid test database name {name!r}")
    return name
