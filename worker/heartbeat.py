"""Each worker process writes a heartbeat, so the dashboard and the watchdog can tell which
workers are alive."""

import logging
import os
import threading

from shared.db import db
from shared.models import WorkerHeartbeat, now
from worker.identity import HOST, process_id

INTERVAL = 10  # seconds
log = logging.getLogger("commlog.heartbeat")


def beat() -> None:
    at = now()
    (
        WorkerHeartbeat.insert(
            worker_id=process_id(), host=HOST, pid=os.getpid(), started_at=at, last_beat_at=at
        )
        .on_conflict(
            conflict_target=[WorkerHeartbeat.worker_id], update={WorkerHeartbeat.last_beat_at: at}
        )
        .execute()
    )


def start_heartbeat() -> threading.Event:
    """Beat now and then every INTERVAL seconds in a daemon thread; set the event to stop."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                beat()
            except Exception:  # a database hiccup must not kill the heartbeat
                log.exception("heartbeat failed")
            finally:
                db.close()
            stop.wait(INTERVAL)

    beat()
    threading.Thread(target=run, name="heartbeat", daemon=True).start()
    return stop
