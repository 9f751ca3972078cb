"""Excel export: exactly the filtered view, the chosen columns, the full text, never a formula."""

import io
from datetime import datetime
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from console import exports
from shared.demo import XSS_HTML
from shared.export import EXCEL_CELL_LIMIT, run_export_job
from shared.html_text import html_text
from shared.models import Backend, Client, Event, Job
from shared.outbox import create_message
from tests.conftest import csrf_token_from, log_in

PAYLOADS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "external:thing",
]


@pytest.fixture
def backend(database):
    return Backend.create(
        name="office", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(response.data))


def test_the_export_is_the_filtered_view_with_the_full_text(support_client, support_user, backend):
    ana = Client.create(name="Ana Lima")
    create_message(
        "email",
        "ana@example.com",
        "Repayment due",
        "Dear Ana,\npay 120 EUR",
        body_html="<p>Dear <b>Ana</b></p><script>x()</script>",
        client=ana,
    )
    create_message(
        "sms",
        "+447911123456",
        "",
        "Code 1234",
        backend=Backend.create(name="t", channel="sms", url="https://s.example/"),
    )
    book = workbook(support_client.get("/log/export.xlsx?channel=email"))
    sheet = book["Messages"]
    rows = list(sheet.values)
    assert rows[0] == (
        "Created (UTC)",
        "Sent (UTC)",
        "State",
        "Channel",
        "Recipient",
        "Sender",
        "Subject",
        "Subject (full)",
        "Text",
        "HTML as text",
        "Why",
        "Reference",
    )
    assert len(rows) == 2
    row = rows[1]
    assert isinstance(row[0], datetime) and row[1] is None
    assert row[2:7] == ("Queued", "Email", "ana@example.com", "System", "Repayment due")
    assert row[8] == "Dear Ana,\npay 120 EUR" and row[9] == "Dear Ana"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    about = dict(book["About this export"].values)
    assert about["Filters"] == "channel = email" and about["Rows"] == "1"
    assert "Sam Support" in about["Exported by"]
    assert Event.get(Event.action == "export").actor_id == support_user.id


def test_formulas_and_links_stay_text_and_long_text_is_cut_with_a_marker(support_client, backend):
    for payload in PAYLOADS:
        create_message("email", "x@example.com", payload, payload)
    create_message("email", "long@example.com", "Long", "x" * 40_000)
    book = workbook(support_client.get("/log/export.xlsx"))
    sheet = book["Messages"]
    subjects = [sheet.cell(row=r, column=7) for r in range(2, 9)]
    for cell in subjects:
        assert cell.data_type == "s"  # a string, never a formula
    assert {c.value for c in subjects} >= set(PAYLOADS)
    long_text = sheet.cell(row=2, column=9).value  # newest first: the long one
    assert len(long_text) == EXCEL_CELL_LIMIT and "more characters are in commlog" in long_text


def test_the_chosen_columns_are_the_exported_columns(support_client, backend):
    create_message("email", "a@example.com", "x", "y", kind="loan.due")
    token = csrf_token_from(support_client.get("/log").get_data(as_text=True))
    support_client.post("/log/columns", data={"csrf_token": token, "column": ["kind", "attempts"]})
    rows = list(workbook(support_client.get("/log/export.xlsx"))["Messages"].values)
    assert rows[0][:2] == ("Type", "Tries") and rows[1][:2] == ("loan.due", 0)


def test_a_person_page_exports_its_own_messages(support_client, backend):
    ana = Client.create(name="Ana Lima")
    create_message("email", "ana@example.com", "Hers", "y", client=ana)
    create_message("email", "bob@example.com", "His", "y")
    rows = list(workbook(support_client.get(f"/clients/{ana.id}/export.xlsx"))["Messages"].values)
    assert [r[6] for r in rows[1:]] == ["Hers"]
    assert support_client.get("/clients/999/export.xlsx").status_code == 404


def test_a_bad_filter_exports_nothing_and_says_why(support_client, backend):
    response = support_client.get("/log/export.xlsx?created_from=someday")
    assert response.status_code == 400 and "is not a date" in response.get_data(as_text=True)


def test_a_big_export_runs_in_the_worker_with_progress(
    support_client, support_user, client, admin_user, backend, monkeypatch, home
):
    monkeypatch.setattr(exports, "LARGE", 5)
    for i in range(8):
        create_message("email", f"c{i}@example.com", f"S{i}", "y")
    page = support_client.get("/log/export.xlsx").get_data(as_text=True)
    job = Job.get(Job.kind == "export")
    assert "Exporting 8 messages" in page and job.total == 8
    run_export_job(job.id, home / "exports")  # what the worker's task does
    progress = support_client.get(f"/exports/{job.id}", headers={"HX-Request": "true"})
    assert "Ready: 8 rows" in progress.get_data(as_text=True)
    rows = list(workbook(support_client.get(f"/exports/{job.id}/file"))["Messages"].values)
    assert len(rows) == 9
    other = client.application.test_client()
    from shared.users import create_user

    create_user("other@example.com", "support", "correct horse battery", "Other")
    log_in(other, "other@example.com")
    assert other.get(f"/exports/{job.id}/file").status_code == 403


def test_html_text_keeps_the_words_and_drops_scripts():
    assert (
        html_text("<style>p{}</style><p>Hello&nbsp;<b>you</b></p><script>evil()</script>")
        == "Hello you"
    )
    assert html_text(None) == ""


def test_every_column_names_people_and_says_what_resolved_a_failure(tmp_path, backend):
    """write_export() straight: names for ids, dates as dates, tries as numbers, HTML as text."""
    from shared.export import COLUMNS, export_query, write_export
    from shared.models import Group, Message
    from shared.users import create_user

    ana = Client.create(name="Ana Lima")
    savers = Group.create(name="Savers")
    staff = create_user("kofi@example.com", "support", "correct horse battery", "Kofi Mensah")
    failed = create_message(
        "email",
        "ana@example.com",
        "Statement",
        "Dear Ana",
        body_html='<h2 title="a > b">Statement</h2><p>Dear&nbsp;<b>Ana</b>,<br>see below.</p>',
        client=ana,
        group=savers,
        user=staff,
        sender=staff,
    )
    Message.update(state="FAILED", attempts=3, sent_at=failed.created_at).where(
        Message.id == failed.id
    ).execute()
    fix = create_message("email", "ana@example.com", "Statement", "Dear Ana", resend_of=failed)
    Message.update(resolved_by=fix.id).where(Message.id == failed.id).execute()

    path = tmp_path / "all.xlsx"
    rows = write_export(str(path), export_query([], None), list(COLUMNS), [("View", "test")])
    assert rows == 2
    values = list(load_workbook(path)["Messages"].values)
    header, newest, oldest = values
    cell = dict(zip(header, oldest, strict=True))
    assert (
        isinstance(cell["Created (UTC)"], datetime) and cell["Sent (UTC)"] == cell["Created (UTC)"]
    )
    assert cell["State"] == "Failed (resolved by resend)" and cell["Tries"] == 3
    assert (cell["Client"], cell["Group"], cell["User"], cell["Sender"]) == (
        "Ana Lima",
        "Savers",
        "Kofi Mensah",
        "Kofi Mensah",
    )
    assert cell["Backend"] == "office" and cell["Channel"] == "Email"
    assert cell["HTML as text"] == "Statement\nDear Ana,\nsee below."
    assert cell["Reference"] == failed.uid
    newer = dict(zip(header, newest, strict=True))
    assert newer["Sender"] == "System" and newer["Client"] is None and newer["Tries"] == 0
    assert newer["HTML as text"] is None and newer["Sent (UTC)"] is None


class _ParsedText(HTMLParser):
    """The text that html.parser reads: what html_text() must agree with."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


WELL_FORMED_HTML = [
    XSS_HTML,
    "<!doctype html><html><head><title>T</title><style>p {color: red}</style></head>"
    "<body><h1>Hi</h1><p>One&amp;two &lt;three&gt; &#65;&#x42;</p></body></html>",
    "<div class=\"a>b\" data-x='c > d'>quoted <i>attributes</i></div>",
    "<TABLE><TR><TD>a</TD><TD>b</TD></TR><TR><TD>c</TD></TR></TABLE>",
    "<ul><li>one<li>two</ul><!-- a comment <p>hidden</p> --><P>after</P>",
    "a < b and c > d, </ p>end tag with a space<br/>x<BR>y<hr>z",
    "<SCRIPT type='text/javascript'>if (a < b) x()</Script ><pre>  pre\n\n  text  </pre>",
    '<a href="https://example.com/?a=1&amp;b=2">link</a>\r\nnext\tline&nbsp;&nbsp;end',
]


@pytest.mark.parametrize("html", WELL_FORMED_HTML, ids=range(len(WELL_FORMED_HTML)))
def test_html_text_reads_html_as_html_parser_does(html):
    parser = _ParsedText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    assert html_text(html) == "\n".join(line for line in lines if line)
    assert html_text(html)  # every sample has visible text


def test_html_text_shows_no_script_even_unclosed():
    assert html_text("<p>Hi</p><script>steal(document.cookie)") == "Hi"
    assert html_text("<p>Hi</p><!-- <p>never closed") == "Hi"
