"""Users (admin): the staff who log in, their roles, and new passwords for them."""

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from console.roles import admin_required
from shared.models import Message, User
from shared.users import UserError, create_user, last_admin, set_password, update_user

bp = Blueprint("staff", __name__, url_prefix="/admin/users")

ROLE_CHOICES = [
    SelectChoice("support", "Support: sees, filters, exports, resends and cancels messages"),
    SelectChoice("admin", "Admin: also backends, retry policies, users and API tokens"),
]


def checkbox(form, field):
    """A tick box sends its own value or nothing; anything else is not from this form."""
    if any(value not in ("y", "on") for value in field.raw_data):
        raise ValidationError("This box can only be ticked or not.")


class UserForm(FlaskForm):
    name = StringField("Name", [DataRequired("Enter the person's name."), Length(max=100)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("May log in", [checkbox])


class NewUserForm(UserForm):
    email = StringField("Email", [DataRequired("Enter their email address."), Length(max=254)])


def get_user(user_id: int) -> User:
    return User.get_or_none(User.id == user_id) or abort(404)


@bp.get("/")
@admin_required
def index():
    """Every staff login: role, whether it may log in, last login, messages sent by hand."""
    users = list(User.select().order_by(User.active.desc(), User.name))
    sent = dict(
        Message.select(Message.sender, fn.COUNT(Message.id))
        .where(Message.sender.is_null(False))
        .group_by(Message.sender)
        .tuples()
    )
    return render_template("staff/index.html", users=users, sent=sent)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Add a staff login, with a generated first password shown once."""
    form = NewUserForm(active=True)
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data, form.role.data, _placeholder(), form.name.data, current_user
            )
            password = set_password(user, actor=current_user)
        except UserError as e:
            form.email.errors.append(_sentence(e))
        else:
            return _password_page(user, password, created=True)
    return render_template("staff/form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(user_id):
    """Change a staff member's name or role, or switch their login off."""
    user = get_user(user_id)
    # the user's values fill the form only when it is shown: a posted form that leaves a field
    # out must not keep the old value unseen (nor switch a login off by a missing box)
    form = UserForm(obj=None if request.method == "POST" else user)
    if form.validate_on_submit():
        try:
            update_user(user, form.name.data, form.role.data, form.active.data, current_user)
        except UserError as e:
            form.role.errors.append(_sentence(e))
        else:
            flash(f"Saved {form.name.data.strip()}.")
            return redirect(url_for("staff.index"))
    return render_template("staff/form.html", form=form, user=user, last_admin=last_admin(user)), (
        400 if form.errors else 200
    )


@bp.post("/<int:user_id>/password")
@admin_required
def new_password(user_id):
    """A new password for someone who lost theirs; every session of theirs ends."""
    user = get_user(user_id)
    return _password_page(user, set_password(user, actor=current_user), created=False)


def _password_page(user: User, password: str, created: bool):
    """The password, shown this once: answered directly, never kept in the session or a cache."""
    response = make_response(
        render_template("staff/password.html", user=user, password=password, created=created)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _placeholder() -> str:
    """A password nobody knows, replaced at once by set_password (create_user needs one)."""
    import secrets

    return secrets.token_urlsafe(32)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
