"""The local SMTP capture sink for `commlog up`: accepts every mail and saves it as an .eml file,
so a newcomer can see what commlog sends without a real mail server."""

import signal
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    """aiosmtpd handler: each message becomes one .eml file, written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.folder / name)
        return "250 Message accepted for delivery"


def run_capture_sink(host: str, port: int, folder: Path) -> None:
    """Serve until SIGINT or SIGTERM."""
    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    print(f"Capturing mail on {host}:{port} into {folder}/", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
