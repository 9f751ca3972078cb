"""Logging in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

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
        user = authenticate(form.email.data, form.password.data)
        if user:
            login_user(user)
            User.update(last_login_at=now()).where(User.id == user.id).execute()
            return redirect(safe_next(request.args.get("next")))
        Event.create(action="login_failed", detail=f"{form.email.data} from {request.remote_addr}")
        form.password.errors.append(
            "That email and password don't match any login. Check them and try again."
        )
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/logout")
@login_required
def logout():
    """End the session."""
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
