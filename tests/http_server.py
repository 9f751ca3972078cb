"""A real HTTP server on loopback that records what it receives and answers as told."""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int  # one port per TCP connection: counts the connections used

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: object = b""  # bytes as they are, anything else as JSON
    hang: bool = False  # answer only once the test is over (after any client timeout)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        server: RecordingServer = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.received.append(
            Received(self.command, self.path, dict(self.headers), body, self.client_address[1])
        )
        reply = server.next_reply()
        if reply.hang:
            server.released.wait(10)
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.received: list[Received] = []
        self.replies = [Reply(200, {"id": "msg-1"})]
        self.released = threading.Event()
        self.lock = threading.Lock()

    def answer(self, *replies: Reply) -> None:
        """Answer with these in turn; the last one is repeated."""
        self.replies = list(replies)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def handle_error(self, request, client_address):
        pass  # a client that gave up waiting closed its end: expected in timeout tests


@pytest.fixture
def http_server():
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.released.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
