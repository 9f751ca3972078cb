"""A counting SMTP sink for the benchmarks: accepts every mail, keeps nothing.

python bench/sink.py PORT      # serves on 127.0.0.1:PORT until killed
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


def main(port: int) -> None:
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
