"""
Work that runs once the response has been sent to the client.

Some answers must not tell, by how long they take, what the server found:
"Lost your link?" answers the same for an address it knows and one it does
not, and would give itself away if it looked the address up, changed the
tokens and sent the e-mail before answering. `after_response` hands such
work to the moment Django calls `response.close()`.

When that is:

- WSGI (gunicorn's sync and gthread workers, `runserver`, wsgiref): the
  server writes the whole response to the socket, then calls `close()` on
  the iterable the application returned (PEP 3333), which is Django's
  response. Django runs `response._resource_closers` there, before it sends
  `request_finished` (which may close the database connection): so the
  work still has the request's connection, after the client has its answer.
  The response carries a Content-Length (CommonMiddleware), so the client
  knows the answer is complete without waiting for the connection to end.
- ASGI: Django's handler sends the body, then calls `response.close()`.
- The test client calls `response.close()` before it returns the response,
  so a test sees the work done; a view called directly (RequestFactory)
  shows what happened before the response, and `close()` the rest.

Why not the alternatives: a thread per request has to open its own database
connection, is invisible to tests inside a transaction, and dies silently
with its process; a row left for `send_outbox` would wait for cron, which
`make run` does not have, and would keep the typed address in the database
until then. What this choice costs: the worker (or the keep-alive
connection) that served the request stays busy for the work, a few queries
and one e-mail, before it takes the next request. A process that is killed
in that moment loses the work; the person asks again.

Django ignores exceptions in a closer without a word: `after_response`
logs the exception's class (never its message, which can quote data) so a
failure is seen.
"""

import logging
from collections.abc import Callable

from django.http import HttpResponseBase

logger = logging.getLogger(__name__)


def after_response(response: HttpResponseBase, work: Callable[[], object], *, name: str) -> HttpResponseBase:
    """Run `work()` once `response` has been sent (when it is closed);
    `name` says in the log which work failed. Returns the response."""

    def run() -> None:
        try:
            work()
        except Exception as exc:
            logger.error("work after the response failed: %s (%s)", name, type(exc).__name__)

    response._resource_closers.append(run)
    return response
