"""A webhook receiver on a loopback port, for the tests: it records every
POST (path, headers, body) and answers with `status` (200 unless told
otherwise); `down()` closes it, so the port refuses connections, and
`up()` serves again on the same port. While it is down the port stays
bound (without listening, so connections are refused): no other test's
server, in this process or another, can take it meanwhile."""

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


class Receiver:
    def __init__(self):
        self._reserve(0)
        self.received: list[Received] = []
        self.status = 200
        self.headers_out: dict[str, str] = {}
        self.server = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/intercession?room=prayer"

    def _reserve(self, port: int) -> None:
        self._held = socket.socket()
        self._held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._held.bind(("127.0.0.1", port))
        self.port = self._held.getsockname()[1]

    def up(self) -> "Receiver":
        receiver = self
        self._held.close()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                for name, value in receiver.headers_out.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def down(self) -> "Receiver":
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            self._reserve(self.port)
        return self
