"""Retry policies (admin): how often and how long each channel retries a failed send."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField
from wtforms.validators import InputRequired

from console.roles import admin_required
from shared.models import CHANNELS
from shared.retry import PolicyError, describe, policy_for, set_policy

bp = Blueprint("policies", __name__, url_prefix="/admin/policies")

CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "webhook": "Webhooks"}


class PolicyForm(FlaskForm):
    max_retries = IntegerField(
        "Retries after the first try", [InputRequired("Enter a number (-1 retries forever).")]
    )
    backoff_delay = FloatField(
        "First wait (seconds)", [InputRequired("Enter a number of seconds.")]
    )
    delay_factor = FloatField(
        "Each wait is this many times the one before", [InputRequired("Enter a number.")]
    )
    backoff_max_delay = FloatField(
        "Longest wait (seconds)", [InputRequired("Enter a number of seconds.")]
    )
    jitter = BooleanField("Vary each wait by up to 10 % (so retries do not all come at once)")


def _forms(posted: str | None = None, form: PolicyForm | None = None) -> dict:
    """A form per channel, filled from its policy (or `form`, as posted, for `posted`)."""
    forms = {}
    for channel in CHANNELS:
        if channel == posted:
            forms[channel] = form
        else:
            forms[channel] = PolicyForm(formdata=None, obj=policy_for(channel), prefix=channel)
    return forms


def _page(forms: dict, status: int = 200):
    policies = {channel: policy_for(channel) for channel in CHANNELS}
    return render_template(
        "policies/index.html",
        forms=forms,
        policies=policies,
        describe=describe,
        names=CHANNEL_NAMES,
    ), status


@bp.get("/")
@admin_required
def index():
    """Each channel's policy, in words and as settings to change."""
    return _page(_forms())


@bp.post("/<channel>")
@admin_required
def save(channel):
    """Change one channel's policy; it applies to the next retry of every message."""
    if channel not in CHANNELS:
        abort(404)
    form = PolicyForm(prefix=channel)
    if form.validate_on_submit():
        values = {f.short_name: f.data for f in form if f.short_name != "csrf_token"}
        try:
            policy = set_policy(channel, actor=current_user, **values)
        except PolicyError as e:
            getattr(form, e.field).errors.append(f"This {e.problem}.")
        else:
            flash(f"{CHANNEL_NAMES[channel]}: {describe(policy)}.")
            return redirect(url_for("policies.index"))
    return _page(_forms(channel, form), 400)
