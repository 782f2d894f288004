"""Starts moto's server (DynamoDB, S3, SES...) for the tests, processing one request at a time.

moto's own `moto_server` handles requests on threads, and its DynamoDB checks a condition and
writes without holding one lock: two concurrent conditional writes to one item can both pass,
which DynamoDB never allows (it serialises writes per item). The store's contract tests race
conditional writes on purpose, so this launcher serves moto's application behind a single lock:
connections are still accepted concurrently, requests are processed one after the other.

It also makes one moto slowness linear: before a TransactWriteItems, moto backs up each table
the transaction touches with a deep copy, once per action rather than once per table. A chunk of
100 bookings on a table of a few thousand items then took 15 s; with the copy made once per
table per transaction it takes a fraction of a second (the backup is taken before any write, so
one copy serves every action). A table's stream (the stack twin reads it) is not copied: moto's
restore after a cancelled transaction would otherwise leave the stream's readers on a shard that
no longer receives records.

Usage: python scripts/moto_server.py HOST PORT
"""

import copy
import os
import sys
import threading

import moto.dynamodb.models as dynamodb_models

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class _OncePerTransaction:
    """Stands for the `copy` module inside moto's DynamoDB models: while a transaction takes
    its backups, the same table is deep-copied once."""

    def __init__(self) -> None:
        # id -> (original, copy): holding the original keeps its id from being reused.
        self.memo: dict[int, tuple[object, object]] | None = None
        self.shards: list[object] = []

    def deepcopy(self, obj, *args, **kwargs):
        if self.memo is None:
            return copy.deepcopy(obj, *args, **kwargs)
        if id(obj) not in self.memo:
            # A table's stream is not copied: its readers hold its shard (see _patch_transactions).
            shared = {id(s): s for s in self.shards}
            self.memo[id(obj)] = (obj, copy.deepcopy(obj, shared))
        return self.memo[id(obj)][1]

    def __getattr__(self, name):
        return getattr(copy, name)


def _patch_transactions() -> None:
    shim = _OncePerTransaction()
    dynamodb_models.copy = shim
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        # A table with a stream (the stack twin's, docs/deployment.md) keeps one shard across a
        # cancelled transaction: moto restores the table from its copy, and a copied shard would
        # leave the stream's readers on the old one, seeing no record again. The records the
        # cancelled transaction added are taken back instead, as DynamoDB never wrote them.
        shards = [(t.stream_shard, len(t.stream_shard.items)) for t in self.tables.values() if t.stream_shard]
        shim.memo = {}
        shim.shards = [s for s, _ in shards]
        try:
            return original(self, transact_items)
        except BaseException:
            for shard, before in shards:
                del shard.items[before:]
            raise
        finally:
            shim.memo = None
            shim.shards = []

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    _patch_transactions()
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
