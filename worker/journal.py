"""The send journal: what a worker thread has sent but not yet written to the database.

Outcomes reach the database in batches, for speed. Between a send and its batch write, the
outcome lives only in this append-only file (one per worker thread, under COMMLOG_HOME/journal):
a line when a send starts, a line when it ends. A write() that returned survives the process
being killed, so when a worker dies, its successor on this host reads the journal and records
what was sent instead of sending it again: only the one message that was on the wire when the
worker died can be sent twice (with the same Message-ID).
"""

import json
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

from shared.states import Settlement

# datetimes as text; one encoder for all (json.dumps with default= builds one per call)
_ENCODER = json.JSONEncoder(default=str)


def journal_folder(home: Path) -> Path:
    folder = home / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def journal_path(folder: Path, owner: str) -> Path:
    return folder / (quote(owner, safe="") + ".jsonl")


def owner_of_journal(path: Path) -> str:
    return unquote(path.name.removesuffix(".jsonl"))


class Journal:
    def __init__(self, folder: Path, owner: str):
        self.path = journal_path(folder, owner)
        self.owner = owner
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def started(self, message_id: int) -> None:
        os.write(self.fd, f'{{"started": {message_id}}}\n'.encode())

    def finished(self, settlement: Settlement) -> None:
        os.write(self.fd, (_ENCODER.encode(_encode(settlement)) + "\n").encode())

    def clear(self) -> None:
        """Everything in the journal is now in the database."""
        os.ftruncate(self.fd, 0)


def read_journal(path: Path) -> tuple[set[int], list[Settlement]]:
    """The ids whose send started, and the settlements of those that finished."""
    started: set[int] = set()
    finished: list[Settlement] = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by the kill: its send is "started" at most
        if "started" in record:
            started.add(record["started"])
        else:
            finished.append(_decode(record))
    return started, finished


def _encode(s: Settlement) -> dict:
    return vars(s)  # a flat dataclass: no need for asdict's deep copy


def _decode(record: dict) -> Settlement:
    settlement = Settlement(**record)
    if settlement.next_attempt_at:
        settlement.next_attempt_at = datetime.fromisoformat(settlement.next_attempt_at)
    for key in ("started_at", "finished_at"):
        if settlement.attempt and settlement.attempt.get(key):
            settlement.attempt[key] = datetime.fromisoformat(settlement.attempt[key])
    return settlement
