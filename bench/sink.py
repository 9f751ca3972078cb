"""A counting SMTP sink for the benchmarks: accepts every mail, keeps nothing.

python bench/sink.py PORT      # serves on 127.0.0.1:PORT until killed or its stdin closes

Prints "ready" once it listens; then, for each line it reads on stdin, how many mails it has
taken so far (so that a benchmark can check that every message arrived, and once only).
"""

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Count:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def answer(count: Count, stop: threading.Event) -> None:
    for _ in sys.stdin:
        print(count.received, flush=True)
    stop.set()  # stdin closed: the benchmark is gone


def main(port: int) -> None:
    count = Count()
    controller = Controller(count, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("ready", flush=True)
    threading.Thread(target=answer, args=(count, stop), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
