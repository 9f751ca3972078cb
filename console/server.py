"""Serving the console with gunicorn from `commlog web` (the Procfile runs gunicorn directly)."""

from flask import current_app
from gunicorn.app.base import BaseApplication


class ConsoleServer(BaseApplication):
    def __init__(self, app, options: dict):
        self.app = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def serve(bind: str, threads: int) -> None:
    """Run one gunicorn process with threads (SQLite is happiest with a single writer process)."""
    app = current_app._get_current_object()
    options = {
        "bind": bind,
        "workers": 1,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "timeout": 60,
        "control_socket_disable": True,
    }
    ConsoleServer(app, options).run()
