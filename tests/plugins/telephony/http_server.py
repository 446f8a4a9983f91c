"""A loopback HTTP server for click-to-call: records each request and answers
with the status and JSON the test sets (a PBX endpoint, Zadarma's API)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.answer = 200, {"call_id": "pbx-42"}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                endpoint.requests.append({"method": self.command, "path": self.path,
                                          "headers": dict(self.headers),
                                          "body": self.rfile.read(length)})
                body = json.dumps(endpoint.answer).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reply

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
