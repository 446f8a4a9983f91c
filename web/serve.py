"""``hookdesk serve``: Hookdesk behind gunicorn, a production WSGI server.

Each worker process builds its own app after the fork (no ``preload``), so no
database connection or queue handle is shared between processes. Threads in a
worker let slow clients and waits for SQLite's writer lock overlap without
blocking the worker.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    return min(2 * (os.cpu_count() or 1) + 1, 9)


class HookdeskServer(BaseApplication):
    """A gunicorn application whose WSGI app is ``web.create_app()``."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from web import create_app

        return create_app()


def serve(host: str, port: int, workers: int, threads: int, access_log: bool = False) -> None:
    HookdeskServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "proc_name": "hookdesk",
        "control_socket_disable": True,  # several servers on one machine must not collide
    }).run()
