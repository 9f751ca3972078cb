"""Real `commlog worker` processes for the fault tests, each started in its own session so that
a signal reaches every process of it (the consumer and anything it starts), as systemd's
KillMode=control-group or `docker stop` would."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from worker.journal import read_journal


class WorkerGroup:
    """Start workers, signal them, read their logs; whatever is still running at the end is
    stopped (TERM, then KILL)."""

    def __init__(self, env: dict, folder: Path):
        self.env = env
        self.folder = folder
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *args: str) -> subprocess.Popen:
        log = self.folder / f"worker-{len(self.started)}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "console.cli", "worker", *args],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((process, log))
        return process

    def signal(self, process: subprocess.Popen, sig: int, wait: float = 30) -> None:
        """Send `sig` to every process of this worker and wait for it to end."""
        os.killpg(process.pid, sig)
        process.wait(wait)

    def log(self, process: subprocess.Popen) -> str:
        return next(log for p, log in self.started if p is process).read_text()

    def logs(self) -> str:
        return "".join(log.read_text() for _, log in self.started)

    def stop_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def sends_on_the_wire(home: Path) -> set[int]:
    """The messages whose send a stopped worker's journal says had started but not finished:
    the only ones whose result is unknown, so the only ones that may reach the receiver twice."""
    on_the_wire: set[int] = set()
    for path in (home / "journal").glob("*.jsonl"):
        started, finished = read_journal(path)
        on_the_wire |= started - {s.message_id for s in finished}
    return on_the_wire
