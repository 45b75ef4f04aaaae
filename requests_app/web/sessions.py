"""Django's database sessions, read with one SQL statement written once.

Every page a team member opens reads their session first; the ORM compiling
`Session.objects.get(session_key=…, expire_date__gt=now)` each time cost more
than running it. The rows, the table and the encoding are Django's own
(`django.contrib.sessions.backends.db`): sessions saved before keep working,
and everything else (saving, cycling, expiry, clearsessions) is Django's.
"""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        if self.session_key is None:  # a key that failed Django's own checks
            return None
        model = self.model
        alias = router.db_for_read(model)
        now = connections[alias].ops.adapt_datetimefield_value(timezone.now())
        table = connections[alias].ops.quote_name(model._meta.db_table)
        rows = model.objects.using(alias).raw(
            f"SELECT * FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608 - the table's name
            [self.session_key, now],
        )
        session = next(iter(rows), None)
        if session is None:
            self._session_key = None
        return session
