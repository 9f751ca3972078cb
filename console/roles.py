"""Who may do what: support staff see, filter, export, resend and cancel; admins also manage
backends, retry policies, users and API tokens (SPEC §4)."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

# blueprints whose every page is for admins only: tests check that each of their views is
# marked, so that a new page there cannot forget the decorator
ADMIN_BLUEPRINTS = ("backends", "staff", "policies", "tokens")


def admin_required(view):
    """Only admins: anyone else logged in gets a 403 page."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    wrapped.admin_only = True
    return wrapped


def is_admin_only(view) -> bool:
    return getattr(view, "admin_only", False)
