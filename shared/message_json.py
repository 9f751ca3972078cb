"""A message as a JSON document, with its attempts and events (`commlog show`, the API)."""

from peewee import JOIN

from shared.models import Attempt, Event, Message, User


def _time(value):
    return value.isoformat() + "Z" if value else None


def message_document(message: Message, history: bool = True) -> dict:
    doc = {
        "uid": message.uid,
        "channel": message.channel,
        "recipient": message.recipient,
        "subject": message.subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "kind": message.kind,
        "state": message.state,
        "state_reason": message.state_reason,
        "sender": message.sender.email if message.sender_id else None,
        "backend": message.backend.name if message.backend_id else None,
        "client": message.client_id,
        "group": message.group_id,
        "user": message.user.email if message.user_id else None,
        "created_at": _time(message.created_at),
        "queued_at": _time(message.queued_at),
        "sent_at": _time(message.sent_at),
        "next_attempt_at": _time(message.next_attempt_at),
        "resend_of": message.resend_of.uid if message.resend_of_id else None,
        "resolved_by": message.resolved_by.uid if message.resolved_by_id else None,
        "resends": [
            m.uid
            for m in Message.select(Message.uid)
            .where(Message.resend_of == message.id)
            .order_by(Message.id)
        ],
        "metadata": message.metadata,
    }
    if history:
        doc["attempts"] = [
            {
                "number": a.number,
                "started_at": _time(a.started_at),
                "finished_at": _time(a.finished_at),
                "outcome": a.outcome,
                "error_type": a.error_type,
                "smtp_code": a.smtp_code,
                "http_status": a.http_status,
                "response": a.response,
                "worker": a.worker,
                "provider_id": a.provider_id,
            }
            for a in Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number)
        ]
        doc["events"] = [
            {
                "at": _time(e.created_at),
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "detail": e.detail,
                "actor": e.actor.email if e.actor_id else None,
            }
            for e in Event.select(Event, User)
            .join(User, on=(Event.actor == User.id), join_type=JOIN.LEFT_OUTER)
            .where(Event.message == message.id)
            .order_by(Event.id)
        ]
    return doc
