"""The service that the gunicorn worker tests' apps call from their
``/patched`` routes with monkey-patched I/O: ``GET /`` answers
``{"upstream": true}``.

    python gunicorn_upstream.py PORT

A child process of the test run, not a thread in it: the pytest process
stays unpatched and its own threads' locks stay real, whatever the modules it
imported did (eventlet.wsgi's import, for one, leaves a green copy of
http.server as the ``http`` package's ``server`` attribute: a server built
from it in a real thread hangs at shutdown and stalls its requests), and the
test's clients do not share a GIL with it.
"""

from __future__ import annotations

import http.server
import sys
from typing import Any

BODY = b'{"upstream": true}'


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests check the answers


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A class attribute: listen() runs in __init__, before an instance's
    # could be set.  200 clients at once each call this (the default is 5,
    # and a full backlog drops SYNs, which clients retry only after 1, 3, 7 s).
    request_queue_size = 1024


def main() -> None:
    port = int(sys.argv[1])
    with Server(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
