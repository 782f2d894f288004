"""Starts moto's server (DynamoDB, S3, SES...) for the tests, processing one request at a time.

moto's own `moto_server` handles requests on threads, and its DynamoDB checks a condition and
writes without holding one lock: two concurrent conditional writes to one item can both pass,
which DynamoDB never allows (it serialises writes per item). The store's contract tests race
conditional writes on purpose, so this launcher serves moto's application behind a single lock:
connections are still accepted concurrently, requests are processed one after the other.

Usage: python scripts/moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # The whole response is produced inside the lock.
            return list(app(environ, start_response))

    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
