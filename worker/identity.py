"""Who is working: host/pid.token/thread, recorded on leases and attempts. The random token tells
a restarted worker apart from a dead one that had the same pid (common in containers)."""

import os
import secrets
import socket
import threading

HOST = socket.gethostname()
_process = {"pid": None, "id": None}


def process_id() -> str:
    """host/pid.token of this process (a new token after a fork)."""
    if _process["pid"] != os.getpid():
        _process.update(pid=os.getpid(), id=f"{HOST}/{os.getpid()}.{secrets.token_hex(3)}")
    return _process["id"]


def worker_id() -> str:
    """This thread's id: the process id and the thread's name."""
    return f"{process_id()}/{threading.current_thread().name}"


def parse_process_id(owner: str) -> tuple[str, int, str] | None:
    """(host, pid, "host/pid.token") of a worker id, or None if it is not one."""
    host, _, rest = owner.partition("/")
    pid_token = rest.split("/", 1)[0]
    pid, _, token = pid_token.partition(".")
    if not (host and pid.isdigit() and token):
        return None
    return host, int(pid), f"{host}/{pid_token}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
