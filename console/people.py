"""Client, group and staff pages: the log, pre-filtered as Mambu does (SPEC §4)."""

from flask import Blueprint, abort, request, url_for
from flask_login import login_required

from console.log import log_context, render_log
from shared.log_filters import LogFilter
from shared.log_page import state_counts
from shared.models import Client, Group, GroupMember, User

bp = Blueprint("people", __name__)


def _page(person, kind: str, page_url: str, about: str):
    log_filter = LogFilter.from_args(request.args)
    context = log_context(log_filter, person=(kind, person.id), page_url=page_url)
    counts = state_counts((kind, person.id))
    context.update(person=person, person_kind=kind, about=about, state_counts=counts)
    return render_log("people/person.html", context)


@bp.get("/clients/<int:client_id>")
@login_required
def client(client_id):
    """Every message sent to a client, by hand or automated."""
    person = Client.get_or_none(Client.id == client_id) or abort(404)
    groups = [m.group.name for m in GroupMember.select().where(GroupMember.client == person.id)]
    about = f"Client · {person.email or 'no email'} · {person.phone or 'no phone'}" + (
        f" · member of {', '.join(groups)}" if groups else ""
    )
    return _page(person, "client", url_for("people.client", client_id=person.id), about)


@bp.get("/groups/<int:group_id>")
@login_required
def group(group_id):
    """Messages to a group's contact address, and webhooks about the group."""
    person = Group.get_or_none(Group.id == group_id) or abort(404)
    members = GroupMember.select().where(GroupMember.group == person.id).count()
    about = (
        f"Group · {members} members · contact {person.contact_email or person.contact_phone or '—'}"
    )
    return _page(person, "group", url_for("people.group", group_id=person.id), about)


@bp.get("/users/<int:user_id>")
@login_required
def user(user_id):
    """What a staff member sent by hand, and the automated messages sent to them."""
    person = User.get_or_none(User.id == user_id) or abort(404)
    about = f"Staff member ({person.role}) · {person.email}"
    return _page(person, "user", url_for("people.user", user_id=person.id), about)
