"""Who is signed in, and their roles, in the page's one query for them.

Django's `ModelBackend` loads the signed-in user with one query, and the
first rule a page asks (`roles.is_leader`) then asks for their groups with a
second. `RolesBackend` loads both at once: the user row with two EXISTS over
the group table, remembered where `roles.group_names` looks. It
authenticates exactly as `ModelBackend` does.

`ModelBackend` stays listed after it only so that sessions signed in before
this backend existed (which name `ModelBackend`) keep working: a failed
log-in here stops the chain (PermissionDenied), so a password is never
checked twice and a failure is counted once (django-axes).
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef

from requests_app import roles


class RolesBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        member_of = Group.objects.filter(user=OuterRef("pk"))
        user = (
            User._default_manager.annotate(
                _leads=Exists(member_of.filter(name=roles.LEADERS)),
                _intercedes=Exists(member_of.filter(name=roles.INTERCESSORS)),
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        roles.remember(
            user,
            frozenset(
                name for name, held in ((roles.LEADERS, user._leads), (roles.INTERCESSORS, user._intercedes)) if held
            ),
        )
        return user
