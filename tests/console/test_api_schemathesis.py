"""The API against its own OpenAPI document, with schemathesis driving the Flask app in-process:
no 500s, and every answer (status, content type, headers, body) as the document says, for data
that fits the schema and for data that does not."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import ChecksConfig, PositiveDataAcceptanceConfig, SchemathesisConfig

from shared.models import Backend, Client, Group, Message
from shared.outbox import create_message
from shared.tokens import create_token

OPERATIONS = [
    ("/api/messages", "POST"),
    ("/api/messages/{uid}", "GET"),
    ("/api/communications/messages:search", "POST"),
    ("/api/communications/messages:resend", "POST"),
    ("/api/communications/messages:resendAsyncByDate", "POST"),
    ("/api/openapi.json", "GET"),
]


@pytest.fixture
def api_schema(app):
    """The schema as the running app serves it, and a few real records to find."""
    for name, channel, url in (
        ("mail", "email", "smtp://127.0.0.1:25"),
        ("texts", "sms", "https://sms.example.com/send"),
        ("hooks", "webhook", "https://hooks.example.com/"),
    ):
        Backend.create(name=name, channel=channel, url=url, is_default=True)
    Client.create(name="Ann")
    Group.create(name="Savers")
    failed = create_message("email", "ann@example.com", "Statement", "Dear Ann")
    Message.update(state="FAILED").where(Message.id == failed.id).execute()
    config = SchemathesisConfig()
    # a body can fit the schema and still name no client, or a message that cannot be resent
    # yet: a 400 is then the right answer
    config.projects.default.checks = ChecksConfig(
        positive_data_acceptance=PositiveDataAcceptanceConfig(
            expected_statuses=["2xx", "400", "401", "403", "404", "409"]
        )
    )
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_keeps_its_documented_promises(api_schema, path, method, mode):
    if mode == GenerationMode.NEGATIVE and path == "/api/openapi.json":
        pytest.skip("the document takes no input to get wrong")
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {create_token('schemathesis')[1]}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=headers)

    check()
