"""Who may do what: support staff see, filter, export, resend and cancel; admins also manage
backends, retry policies, users and API tokens (SPEC §4)."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def admin_required(view):
    """Only admins: anyone else logged in gets a 403 page."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
