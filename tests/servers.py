"""Throwaway PostgreSQL and Redis servers for the tests: each in a temporary folder, listening on
127.0.0.1 on a free non-default port, stopped by its PID at the end of the session."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}:\n{log.read_text()}") from None
            time.sleep(0.05)


def _stop(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PostgresServer:
    """A fresh PostgreSQL cluster. As root it runs as the `postgres` OS user (initdb and the
    server refuse root); durability is off, since its data dies with the test session."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not binaries:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install.sh --test")
        self.bin = Path(binaries[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="commlog-pg-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.process = None

    def _as_owner(self) -> dict:
        """Popen arguments that run a program as the cluster's owner: the server is started
        as that user directly (no runuser in between), so its PID is postgres's own."""
        if not self.user:
            return {}
        return dict(user=self.user, group=pwd.getpwnam(self.user).pw_gid, extra_groups=[])

    def start(self) -> "PostgresServer":
        subprocess.run(
            [self.bin / "initdb", "-D", self.folder / "data", "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"],
            check=True,
            capture_output=True,
            cwd=self.folder,
            **self._as_owner(),
        )  # fmt: skip
        self.start_server()
        return self

    def start_server(self) -> None:
        """Run the server on the cluster's data folder and port, and wait until it takes
        sessions: at first, and again after stop_server()."""
        log = self.folder / "server.log"
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": self.folder,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 200,
        }
        args = [self.bin / "postgres", "-D", self.folder / "data"]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with open(log, "a") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, cwd=self.folder,
                **self._as_owner(),
            )  # fmt: skip
        _wait_until_listening(self.process, self.port, log)
        self._wait_until_accepting(log)

    def stop_server(self) -> None:
        """Stop the server by its PID as a restart does ("fast" shutdown: open sessions are
        ended, their transactions rolled back), keeping its data for start_server()."""
        if self.process:
            _stop(self.process, signal.SIGINT)

    def restart(self) -> None:
        self.stop_server()
        self.start_server()

    def _wait_until_accepting(self, log: Path, timeout: float = 30) -> None:
        """The port opens before the server takes sessions ("the database system is starting
        up"): wait for a real one."""
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL takes no session:\n{log.read_text()}") from None
                time.sleep(0.05)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """A Redis that keeps nothing on disk."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="commlog-redis-"))
        self.port = free_port()
        self.process = None

    def start(self) -> "RedisServer":
        log = self.folder / "server.log"
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder), "--databases", "16"]  # fmt: skip
        with open(log, "w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        _wait_until_listening(self.process, self.port, log)
        return self

    def url(self, number: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{number}"

    def stop(self) -> None:
        if self.process:
            _stop(self.process, signal.SIGTERM)
        shutil.rmtree(self.folder, ignore_errors=True)
