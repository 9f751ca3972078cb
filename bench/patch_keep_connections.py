"""For `bench/console.py --patch`: each web thread keeps its PostgreSQL connection between
requests, as it already keeps SQLite's (console/__init__.py closes PostgreSQL's after every
request). Measures what a kept or pooled connection would save: a new one is a new server
process, which reads the catalog again before the first query."""


def patch_app(app):
    teardown = app.teardown_request_funcs[None]
    app.teardown_request_funcs[None] = [f for f in teardown if f.__name__ != "close_connection"]
