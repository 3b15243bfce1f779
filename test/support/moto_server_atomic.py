"""moto_server with DynamoDB's write atomicity.

DynamoDB applies each conditional write atomically: of two racing PutItem/UpdateItem calls with
the same condition, exactly one succeeds. moto's threaded server checks the condition and writes
without a lock, so under load two racers can both win, and the tests of the ledgers' races
(source-ledger-dynamodb, pull-aws) failed on moto, not on the code. Every DynamoDB item operation
here runs under one lock, as DynamoDB guarantees; everything else is moto_server unchanged.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()

for _name in (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "batch_write_item",
    "transact_write_items",
):
    _method = getattr(DynamoDBBackend, _name)

    def _serialized(method):
        @functools.wraps(method)
        def run(*args, **kwargs):
            with _LOCK:
                return method(*args, **kwargs)

        return run

    setattr(DynamoDBBackend, _name, _serialized(_method))

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
