"""What the HTTP channels share: backend URL settings, redaction, the status classes."""

import pytest

from shared.channels import CONFIG, PERMANENT, SENT, TRANSIENT, open_sender, redact_url
from shared.channels.http import HttpClient, HttpSettings, classify_status
from shared.channels.sms import SmsSender
from shared.channels.webhook import WebhookSender
from shared.models import Backend
from tests.http_server import Reply


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://u:secret@h:25?x=1", "smtp://u:****@h:25?x=1"),
        ("smtp://h:25", "smtp://h:25"),
        ("https://h/p?token=abc&to=1", "https://h/p?token=****&to=1"),
        (
            "https://u:pw@h/?key=k&api_key=a&Secret=s&password=p&access_token=t&keep=v",
            "https://u:****@h/?key=****&api_key=****&Secret=****&password=****"
            "&access_token=****&keep=v",
        ),
        # the rest stays exactly as typed, {id} and encoded characters included
        (
            "https://h/?status_url=https://h/m/{id}&token=x%26y",
            "https://h/?status_url=https://h/m/{id}&token=****",
        ),
        ("https://h/?token", "https://h/?token"),  # no value, nothing to hide
        ("https://h/?tokens=1", "https://h/?tokens=1"),
        ("https://u:p@[::1]:8080/", "https://u:****@[::1]:8080/"),
        ("https://[::1/", "(an unreadable URL)"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_settings_take_commlog_parameters_out_of_the_url():
    s = HttpSettings.from_url(
        "https://u%40x:p%2Fw@api.example/v1/m?from=ACME&token=T&timeout=2.5&x=1",
        own=("token", "timeout"),
    )
    assert s.url == "https://api.example/v1/m?from=ACME&x=1"
    assert s.options == {"token": "T", "timeout": "2.5"}
    assert (s.username, s.password, s.timeout) == ("u@x", "p/w", 2.5)
    assert "T" in s.secrets and "p%2Fw" in s.secrets and "p/w" in s.secrets


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h/",
        "https:///nohost",
        "api.example/v1",
        "https://h/?timeout=0",
        "https://h/?timeout=-1",
        "https://h/?timeout=soon",
        "https://h/?timeout=nan",
        "https://h/?timeout=inf",
    ],
)
def test_unusable_settings_are_refused(url):
    with pytest.raises(ValueError):
        HttpSettings.from_url(url, own=("timeout",))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, SENT),
        (201, SENT),
        (204, SENT),
        (301, PERMANENT),
        (400, PERMANENT),
        (401, CONFIG),
        (403, CONFIG),
        (404, PERMANENT),
        (409, PERMANENT),
        (422, PERMANENT),
        (429, TRANSIENT),
        (500, TRANSIENT),
        (502, TRANSIENT),
        (503, TRANSIENT),
    ],
)
def test_status_classes(status, outcome):
    assert classify_status(status) == outcome


def test_open_sender_picks_the_channel():
    sms = open_sender(Backend(name="s", channel="sms", url="https://h/send?token=t"))
    hook = open_sender(Backend(name="w", channel="webhook", url="https://h/?secret=s"))
    assert isinstance(sms, SmsSender) and isinstance(hook, WebhookSender)
    sms.close()
    hook.close()


def test_the_answer_is_cut_and_secrets_are_redacted(http_server):
    http_server.answer(Reply(400, b"bad token SECRET-1 " + b"x" * 5000))
    client = HttpClient(5, secrets=["SECRET-1"])
    try:
        result, body = client.request("POST", http_server.url + "/?key=SECRET-2", data=b"SECRET-2")
    finally:
        client.close()
    assert result.outcome == PERMANENT and result.http_status == 400
    first, _, text = result.response.partition("\n")
    assert first == "400 Bad Request"
    assert text.startswith("bad token **** xxx") and len(text) == 2000
    assert "SECRET" not in result.response
    assert len(body) == 5019


def test_a_huge_answer_is_not_read_whole(http_server):
    http_server.answer(Reply(200, b"y" * 10_000_000))
    client = HttpClient(5)
    try:
        result, body = client.request("GET", http_server.url)
    finally:
        client.close()
    assert result.outcome == SENT and len(body) == 64 * 1024


@pytest.mark.parametrize("url", ["not a url", "http://", "http://[::1/", "gopher://h/"])
def test_an_unusable_url_is_a_configuration_error(url):
    client = HttpClient(5)
    try:
        result, body = client.request("POST", url)
    finally:
        client.close()
    assert result.outcome == CONFIG and body == b""
    assert result.response.startswith("The URL is not usable:")
