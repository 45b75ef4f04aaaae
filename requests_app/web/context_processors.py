from requests_app import roles


def user_roles(request) -> dict:
    """`is_leader` and `is_intercessor` for navigation; the server enforces
    the same rules on every view."""
    user = getattr(request, "user", None)
    if user is None:
        return {"is_leader": False, "is_intercessor": False}
    return {"is_leader": roles.is_leader(user), "is_intercessor": roles.is_intercessor(user)}
