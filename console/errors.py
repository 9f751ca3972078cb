"""Error pages: a real page for a browser, a small fragment for an htmx request."""

from flask import render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

TITLES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your login does not open this page. Ask an admin if you need it."),
    404: ("Not found", "There is nothing at this address. It may have been deleted or mistyped."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What was sent is too large. Send less at a time."),
    429: ("Too many requests", "Too many requests in a short time. Wait a little, then retry."),
    500: ("Something went wrong", "The console hit an error. It has been logged; try again."),
}


def render_error(status: int, detail: str | None = None):
    title, text = TITLES.get(status, TITLES[500])
    template = "errors/_fragment.html" if request.headers.get("HX-Request") else "errors/page.html"
    return render_template(template, status=status, title=title, text=detail or text), status


def session_ended():
    """The answer to an htmx request whose session has ended: a 401 fragment that the page
    shows with a link to log in again."""
    return render_template(
        "errors/_fragment.html",
        status=401,
        title="Your session has ended",
        text="Log in again to carry on.",
    ), 401


def refuse_nul_characters():
    """A NUL character cannot be stored (PostgreSQL refuses it, SQLite cuts text at it) and no
    one types one: a form that carries one is refused whole, before any view stores it."""
    if request.method == "GET" or request.blueprint == "api":
        return None
    for value in request.form.values():
        if "\x00" in value:
            return render_error(
                400,
                "The form contained an invisible NUL character, which cannot be saved. "
                "Nothing was changed: remove it (retype the text) and try again.",
            )
    return None


def register(app):
    app.before_request(refuse_nul_characters)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        if not current_user.is_authenticated and request.headers.get("HX-Request"):
            # the session ended, which took the form's token with it: say so
            return session_ended()
        return render_error(
            400,
            "The form had expired or was not sent from this console. "
            "Reload the page and try again.",
        )

    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, lambda e, status=status: render_error(status))
