"""The logged-in staff member's own account: who they are, and changing their password."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from console.auth import too_many_attempts
from shared import login_limits
from shared.users import MIN_PASSWORD_LENGTH, UserError, WrongPassword, change_password

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        [DataRequired("Enter your current password."), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        [
            DataRequired("Choose a new password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1000,
                message=f"The new password must be {MIN_PASSWORD_LENGTH} to 1000 characters long.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        [
            DataRequired("Type the new password again."),
            EqualTo("new_password", "The two new passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """Show the account; change the password, which logs out every other session."""
    form = PasswordForm()
    if form.validate_on_submit():
        # a stolen session must not become a way to guess the password: same limit as login
        paused = login_limits.retry_at(current_user.email, request.remote_addr)
        if paused:
            return too_many_attempts(paused)
        try:
            change_password(current_user, form.current_password.data, form.new_password.data)
        except WrongPassword:
            login_limits.record_failure(current_user.email, request.remote_addr)
            form.current_password.errors.append("That is not your current password.")
        except UserError as e:
            form.new_password.errors.append(str(e)[:1].upper() + str(e)[1:] + ".")
        else:
            login_user(
                current_user._get_current_object()
            )  # this session carries the new session version
            flash("Your password is changed. Your other sessions are logged out.")
            return redirect(url_for("account.index"))
    return render_template("account/index.html", form=form), 400 if form.errors else 200
