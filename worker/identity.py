"""Who is working: host/pid/thread, recorded on leases and attempts."""

import os
import socket
import threading


def worker_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{threading.current_thread().name}"
