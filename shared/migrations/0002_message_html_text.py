"""Messages keep their HTML body's visible text (`body_html_text`), worked out once when they
are stored: the search index covers it (an email with only an HTML part can be found by its
words), and the Excel export writes it without converting every body again."""

from shared.html_text import html_text
from shared.search import create_search_index, drop_search_index, rebuild_search_index

CHUNK = 2_000


def up(migrator, db):
    columns = {c.name for c in db.get_columns("message")}
    if "body_html_text" not in columns:
        # a plain ADD COLUMN with its default: no copy of the table (peewee's add_column makes
        # SQLite rebuild it, which at a million messages took most of two minutes, doubled the
        # file while it ran, and made the indexes again in another order)
        db.execute_sql("ALTER TABLE message ADD COLUMN body_html_text TEXT NOT NULL DEFAULT ''")
    # the index goes first, so that filling the column fires no index trigger per row
    drop_search_index()
    p, last = db.param, 0
    while True:
        rows = db.execute_sql(
            f"SELECT id, body_html FROM message WHERE id > {p} AND body_html IS NOT NULL "
            f"ORDER BY id LIMIT {CHUNK}",
            [last],
        ).fetchall()
        if not rows:
            break
        db.cursor().executemany(
            f"UPDATE message SET body_html_text = {p} WHERE id = {p}",
            [(html_text(html), id) for id, html in rows],
        )
        last = rows[-1][0]
    create_search_index()
    rebuild_search_index()
