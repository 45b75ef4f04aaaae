"""Who is signed in, and their roles, in the page's one query for them.

Django's `ModelBackend` loads the signed-in user with one query, and the
first rule a page asks (`roles.is_leader`) then asks for their groups with a
second. `RolesBackend` loads both at once: the user row with two EXISTS over
the group table (one SQL statement, written once), remembered where
`roles.group_names` looks. It
authenticates exactly as `ModelBackend` does.

`ModelBackend` stays listed after it only so that sessions signed in before
this backend existed (which name `ModelBackend`) keep working: a failed
log-in here stops the chain (PermissionDenied), so a password is never
checked twice and a failure is counted once (django-axes).
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError

from requests_app import roles


class RolesBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        try:
            user_id = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        rows = User._default_manager.raw(_USER_WITH_ROLES, [roles.LEADERS, roles.INTERCESSORS, user_id])
        user = next(iter(rows), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        held = ((roles.LEADERS, user.leads), (roles.INTERCESSORS, user.intercedes))
        roles.remember(user, frozenset(name for name, member in held if member))
        return user


def _user_with_roles_sql() -> str:
    """The user's row and whether they are in each role's group: what the
    ORM would write for an annotate(Exists(...)), written once here because
    every signed-in page runs it (compiling it each time cost more than
    running it)."""
    user, group, membership = User._meta.db_table, Group._meta.db_table, User.groups.through._meta.db_table
    member_of = (
        f"EXISTS (SELECT 1 FROM {membership} m JOIN {group} g ON g.id = m.group_id "  # noqa: S608 - table names
        f"WHERE m.user_id = {user}.id AND g.name = %s)"
    )
    return f"SELECT {user}.*, {member_of} AS leads, {member_of} AS intercedes FROM {user} WHERE {user}.id = %s"  # noqa: S608


_USER_WITH_ROLES = _user_with_roles_sql()
