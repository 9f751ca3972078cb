"""Logging in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from shared import login_limits
from shared.models import Event, User, now
from shared.users import authenticate

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1000)]
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host, never a scheme-relative //host."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("log.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log the user in when the email and password match."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        # checked before the password, so that a guesser learns nothing while paused
        paused = login_limits.retry_at(form.email.data, request.remote_addr)
        if paused:
            return too_many_attempts(paused)
        user = authenticate(form.email.data, form.password.data)
        if user:
            login_limits.forget_account(form.email.data)
            login_user(user)
            User.update(last_login_at=now()).where(User.id == user.id).execute()
            return redirect(safe_next(request.args.get("next")))
        login_limits.record_failure(form.email.data, request.remote_addr)
        Event.create(action="login_failed", detail=f"{form.email.data} from {request.remote_addr}")
        form.password.errors.append(
            "That email and password don't match any login. Check them and try again."
        )
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


def too_many_attempts(until):
    """429: logging in is paused for this account or address, and until when."""
    seconds = max(1, int((until - now()).total_seconds()) + 1)
    minutes = -(-seconds // 60)
    page = render_template("auth/too_many.html", minutes=minutes, until=until.strftime("%H:%M"))
    return page, 429, {"Retry-After": str(seconds)}


@bp.post("/logout")
@login_required
def logout():
    """End the session."""
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
