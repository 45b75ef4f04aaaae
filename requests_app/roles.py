"""Who is a leader and who is an intercessor: membership of two groups.

Being a superuser or staff grants nothing here; a site administrator who
should lead must be put in the `Leaders` group like anyone else.
"""

from django.contrib.auth.models import AnonymousUser, User

LEADERS = "Leaders"
INTERCESSORS = "Intercessors"

# Cached on the user object so one page asks the database once.
_CACHE_ATTRIBUTE = "_intercession_group_names"


def group_names(user: User | AnonymousUser) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=(LEADERS, INTERCESSORS)).values_list("name", flat=True))
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def remember(user: User, names: frozenset[str]) -> None:
    """Cache the user's role groups, read with the user (`web.auth`)."""
    setattr(user, _CACHE_ATTRIBUTE, names & {LEADERS, INTERCESSORS})


def forget(user: User) -> None:
    """Drop the cached membership, after changing the user's groups."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def is_leader(user: User | AnonymousUser) -> bool:
    return LEADERS in group_names(user)


def is_intercessor(user: User | AnonymousUser) -> bool:
    return INTERCESSORS in group_names(user)
