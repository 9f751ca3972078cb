"""Recovering what dead workers left behind: no message is ever lost.

- A worker on this host that died (its pid is gone, or taken by a newer worker): its journal
  says which sends finished (recorded as they were) and which one was on the wire (result
  unknown: sent again with the same Message-ID); claimed messages it never started go back to
  QUEUED untouched.
- Anywhere: a SENDING message whose lease has expired is recovered as "result unknown".
"""

import os

from shared.config import load_config
from shared.models import Message, WorkerHeartbeat, now
from shared.states import Settlement, move, settle
from worker.identity import HOST, parse_process_id, process_alive, process_id
from worker.journal import Journal, journal_folder, owner_of_journal, read_journal

UNKNOWN = (
    "The worker sending it stopped before it could record the result; it is sent again "
    "with the same Message-ID, so the receiver can drop a duplicate."
)
NOT_STARTED = "The worker that claimed it stopped before sending it."


def recover_dead_local_workers() -> int:
    """Settle the journals of this host's dead workers; returns how many messages it recovered."""
    recovered = 0
    me = process_id()
    for path in sorted(journal_folder(load_config().home).glob("*.jsonl")):
        owner = _owner_of(path)
        if owner is None:
            continue
        if _dead_local(owner, me):
            recovered += _recover_process(owner[2], [path])
    # claims of a dead local process whose journal was never written (killed right after claim)
    for process in _dead_local_lease_holders(me):
        recovered += _recover_process(process, [])
    return recovered


def _owner_of(path):
    return parse_process_id(owner_of_journal(path))


def _dead_local(parsed, me: str) -> bool:
    """A worker process of this host that is gone: its pid is not running, or is now ours."""
    host, pid, process = parsed
    if host != HOST or process == me:
        return False
    return pid == os.getpid() or not process_alive(pid)


def _dead_local_lease_holders(me: str) -> set[str]:
    owners = (
        Message.select(Message.lease_owner)
        .where(Message.state == "SENDING", Message.lease_owner.startswith(f"{HOST}/"))
        .distinct()
    )
    dead = set()
    for row in owners:
        parsed = parse_process_id(row.lease_owner or "")
        if parsed and _dead_local(parsed, me):
            dead.add(parsed[2])
    return dead


def _recover_process(process: str, journals) -> int:
    count = _recover(Message.lease_owner.startswith(process + "/"), journals)
    for path in journals:
        path.unlink(missing_ok=True)
    WorkerHeartbeat.delete().where(WorkerHeartbeat.worker_id == process).execute()
    return count


def recover_own_claims(journal: Journal) -> int:
    """Settle what this worker thread still holds after its batch broke off (the database went
    away mid-batch), as for a dead worker: its journal says what was sent. The journal is then
    emptied for the thread's next batch. Safe to repeat, should the database go away again."""
    count = _recover(Message.lease_owner == journal.owner, [journal.path])
    journal.clear()
    return count


def _recover(held_by, journals) -> int:
    """Settle the SENDING messages `held_by` selects from what `journals` say; returns how many."""
    started: set[int] = set()
    finished: list[Settlement] = []
    for path in journals:
        s, f = read_journal(path)
        started |= s
        finished += f
    held = {m.id: m for m in Message.select().where(Message.state == "SENDING", held_by)}
    count = len(settle([s for s in finished if s.message_id in held], owner=None))
    done = {s.message_id for s in finished}
    for message in held.values():
        if message.id in done:
            continue
        if message.id in started:
            count += len(settle([_unknown(message)], owner=None))
        else:
            count += len(
                move(
                    [message.id],
                    "SENDING",
                    "QUEUED",
                    NOT_STARTED,
                    lease_owner=None,
                    lease_until=None,
                )
            )
    return count


def recover_expired_leases() -> int:
    """SENDING messages whose lease ran out: their worker died, wherever it ran."""
    expired = list(Message.select().where(Message.state == "SENDING", Message.lease_until < now()))
    return len(settle([_unknown(m) for m in expired], owner=None)) if expired else 0


def _unknown(message: Message) -> Settlement:
    at = now()
    attempt = {
        "number": message.attempts + 1,
        "started_at": at,
        "finished_at": at,
        "outcome": "unknown",
        "error_type": "WorkerStopped",
        "response": "result unknown: the worker stopped during the send",
        "worker": message.lease_owner,
    }
    return Settlement(message.id, "QUEUED", UNKNOWN, attempt)
