"""moto server as the tests, the demo and the benchmarks run it (dev/local/moto.ts).

moto's DynamoDB evaluates a ConditionExpression and then writes, without a lock, and `moto_server`
serves each request on its own thread: two conditional writes to one item that arrive together can
both pass their condition when Python switches threads between the check and the write (rare; seen
in CI on a loaded machine: two racing de-duplication claims both won, and two concurrent scans both
won the digest claim). DynamoDB evaluates a condition atomically with its write, and pitr-guard's
de-duplication (claims, digest claims, the ledger's optimistic versions) relies on exactly that. This
launcher is moto's own `moto.server.main` with one change: DynamoDB requests (X-Amz-Target
DynamoDB_20120810.*) are handled one at a time, so a conditional write on moto is as atomic as on
DynamoDB. Every other service keeps moto's threading.
"""
import sys
import threading

import moto.server as server

_Dispatcher = server.DomainDispatcherApplication
_dynamodb = threading.Lock()


class DynamoSerialisedDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_20120810."):
            with _dynamodb:
                # The body is produced inside the lock: the condition check and the write happen in it.
                return list(super().__call__(environ, start_response))
        return super().__call__(environ, start_response)


server.DomainDispatcherApplication = DynamoSerialisedDispatcher

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(server.main())
