"""API tokens (admin): who may call the JSON API, when each was last used, and revoking them."""

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from console.roles import admin_required
from shared.models import ApiToken, User
from shared.tokens import MAX_NAME_LENGTH, TokenError, create_token, revoke

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")


class TokenForm(FlaskForm):
    name = StringField(
        "Name", [DataRequired("Give the token a name."), Length(max=MAX_NAME_LENGTH)]
    )
    # every token has someone to ask about it (and to tell when it is revoked)
    owner = SelectField("Owner", [InputRequired("Choose who to ask about it.")], coerce=int)


def _form() -> TokenForm:
    form = TokenForm(owner=current_user.id)
    staff = User.select().where(User.active).order_by(User.name)
    form.owner.choices = [SelectChoice(u.id, f"{u.name} ({u.email})") for u in staff]
    return form


def _page(form: TokenForm, status: int = 200):
    tokens = list(
        ApiToken.select(ApiToken, User)
        .join(User, JOIN.LEFT_OUTER, on=(ApiToken.owner == User.id))
        .order_by(ApiToken.revoked_at.is_null(False), ApiToken.name)
    )
    return render_template("tokens/index.html", form=form, tokens=tokens), status


@bp.get("/")
@admin_required
def index():
    """Every token, in use or revoked, with its owner and when it was last used."""
    return _page(_form())


@bp.post("/new")
@admin_required
def new():
    """A new token, shown this once: answered directly, never kept in the session."""
    form = _form()
    if form.validate_on_submit():
        owner = User.get_by_id(form.owner.data)  # one of the choices: an active user
        try:
            token, plaintext = create_token(form.name.data, owner=owner, actor=current_user)
        except TokenError as e:
            form.name.errors.append(str(e)[:1].upper() + str(e)[1:] + ".")
        else:
            response = make_response(
                render_template("tokens/created.html", token=token, plaintext=plaintext)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    return _page(form, 400)


@bp.post("/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id):
    """Revoke a token for good: calls with it get a 403 from now on."""
    token = ApiToken.get_or_none(ApiToken.id == token_id) or abort(404)
    if revoke(token, actor=current_user):
        flash(f"Revoked {token.name}: calls with it are refused from now on.")
    else:
        flash(f"{token.name} was revoked already.")
    return redirect(url_for("tokens.index"))
