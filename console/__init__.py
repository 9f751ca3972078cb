"""The web console and JSON API: a Flask app made by create_app()."""

import os
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect, request, url_for
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from console.errors import session_ended
from shared.config import load_config
from shared.db import DRIVER_ERRORS, connect, connection_lost, db
from shared.models import User, now

ROOT = Path(__file__).resolve().parent.parent

login_manager = LoginManager()
csrf = CSRFProtect()


class IdConverter(IntegerConverter):
    """An id in a URL: at most what the database can compare; a larger number is a 404
    (not an overflow error)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Make the console app; `config` overrides settings (tests)."""
    settings = load_config()
    app = Flask(
        __name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static")
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # sent over HTTPS only when the console is reached over HTTPS
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        REMEMBER_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.update(config or {})
    app.url_map.converters["int"] = IdConverter
    # behind a load balancer the client's address is in X-Forwarded-For: the login limit per
    # address needs it (else every client shares the balancer's address and its limit)
    proxies = int(os.environ.get("COMMLOG_TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    if db.obj is None or config and "DATABASE_URL" in config:
        connect(app.config["DATABASE_URL"])

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    csrf.init_app(app)

    @app.before_request
    def open_connection():
        db.connect(reuse_if_open=True)

    @app.before_request
    def watch_the_workers():
        run_watchdog()

    @app.teardown_request
    def close_connection(exc):
        # each web thread keeps its connection between requests: on SQLite closing the last one
        # makes SQLite copy the WAL into the database file (16-18 ms of disk per request), on
        # PostgreSQL a new one is a new server process (4-18 ms); one the server dropped is
        # replaced at its next use (shared/db.py). Only a request that left a transaction open
        # has its connection closed
        if not db.is_closed() and db.in_transaction():
            db.close()

    from console import (
        account,
        api,
        auth,
        backends,
        dashboard,
        errors,
        exports,
        log,
        messages,
        people,
        policies,
        staff,
        tokens,
    )
    from console.banner import backend_banner

    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(log.bp)
    app.register_blueprint(backends.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(policies.bp)
    app.register_blueprint(tokens.bp)
    # the API authenticates with bearer tokens, not session cookies: no CSRF there
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    app.context_processor(backend_banner)
    app.jinja_env.globals.update(timedelta=timedelta)
    app.jinja_env.filters["sandboxed"] = sandboxed
    app.context_processor(lambda: {"now_date": now().date()})
    app.after_request(security_headers)
    errors.register(app)
    for error in DRIVER_ERRORS:
        app.register_error_handler(error, database_unavailable)
    return app


DATABASE_AWAY = (
    "The console cannot reach its database just now; it may be restarting. Try again in a "
    "moment. If you had just sent a form, check whether it was saved before sending it again."
)


def database_unavailable(exc):
    """The database gone away (restarting, say): a 503 that says to retry in a moment. It is
    written without the database, which the usual error page reads (the login, the banner)."""
    if not connection_lost(exc):
        raise exc  # an error the database answered: the usual 500
    retry = {"Retry-After": "5"}
    if request.blueprint == "api":
        from console.api import error_response

        problem = (
            "the database is not answering just now (it may be restarting); retry in a few "
            "seconds, with the same Idempotency-Key so that nothing is stored twice"
        )
        return error_response(503, [("database", problem)], retry)
    if request.headers.get("HX-Request"):  # shown in the page's error box
        return f"<strong>Database not answering.</strong> {DATABASE_AWAY}", 503, retry
    css = url_for("static", filename="css/commlog.css")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>Database not answering</title><link rel="stylesheet" href="{css}"></head>'
        '<body><main><section class="card narrow"><h1>Database not answering</h1>'
        f"<p>{DATABASE_AWAY}</p></section></main></body></html>"
    )
    return page, 503, retry


# message HTML is shown in sandboxed iframes, which inherit this: no script runs, no remote
# content loads (no tracking pixels), nothing is framed by other sites
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


# the message's own HTML carries a policy of its own too: even a document that did not inherit
# the console's (or a browser that fetches before applying it) loads nothing remote, runs nothing
HTML_BODY_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src data:; style-src 'unsafe-inline'; font-src data:\">"
)


def sandboxed(body_html: str | None) -> str:
    """A message's HTML for an <iframe sandbox srcdoc>, under its own strict policy."""
    return HTML_BODY_POLICY + (body_html or "")


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@login_manager.unauthorized_handler
def unauthorized():
    """A page asks to log in; an htmx request gets a 401 that the page turns into a message
    with a link to log in again (swapping the login page into a table would make no sense)."""
    if request.headers.get("HX-Request"):
        return session_ended()
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


_watchdog = {"next": 0.0}


def run_watchdog() -> None:
    """At most once a minute, across every console process: alert admins when no worker has
    been alive for 5 minutes while messages are due. The alert is sent from here, at once,
    since there is no worker to send it."""
    from shared.models import claim_period
    from shared.watchdog import stalled_alert

    # a cheap check in this process first, so that requests don't write to the database
    if time.monotonic() < _watchdog["next"]:
        return
    _watchdog["next"] = time.monotonic() + 60
    if not claim_period("watchdog", 60):
        return
    alerts = stalled_alert()
    if alerts:
        from worker.delivery import send_now

        send_now(alerts)


@login_manager.user_loader
def load_user(session_id: str):
    """Sessions carry `id:session_version`, so a password change ends the other sessions."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = User.get_or_none(User.id == int(user_id))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user
