"""Running the app: granian in production, Flask's reloader with ``--dev``.

Production: granian (a Rust HTTP server) parses HTTP and runs ``KG_WORKERS`` worker
processes, each calling the Flask app (WSGI) from ``KG_THREADS`` threads. Python is only
entered for the application itself, which is what makes small requests cheap (measured in
``bench/http_peers.py``; gunicorn's Python HTTP layer cost three times the engine's time
on a lookup). Each worker builds its app after the fork (:func:`worker_app`), so the
store is opened read-only in every worker, never across a fork.

On an embedded store each worker evaluates queries in killable child processes
(:class:`kg.web.executor.QueryProcesses`): a query that overruns the time limit is stopped by
killing its process, and the worker serves on. SIGTERM stops gracefully: no new
connections; requests in flight finish (up to the query time limit plus a margin). A worker
that dies is replaced.
"""

from __future__ import annotations

import atexit
import base64
import logging
import os
import pickle
import signal
import sys
import threading
from typing import Any

from kg.config import Settings, is_remote

WORKER_SETTINGS = "DUIKOU_SERVE_SETTINGS"
"""Environment variable that hands the parsed settings to the worker processes."""


def serve(settings: Settings, *, dev: bool = False) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C drain in-flight requests first)."""
    if dev:
        from kg.web import create_app

        logging.getLogger("kg").setLevel(logging.INFO)
        create_app(settings).run(host=settings.host, port=settings.port, debug=True,
                                 use_reloader=True, use_debugger=False, threaded=True)
        return
    options = server_options(settings)
    os.environ[WORKER_SETTINGS] = base64.b64encode(pickle.dumps(settings)).decode()
    from granian import Granian

    Granian("kg.web.server:worker_app", **options).serve()


def server_options(settings: Settings) -> dict[str, Any]:
    """The granian configuration for ``settings``."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    threads = settings.threads or settings.max_inflight + 2
    return {
        "factory": True,
        "interface": Interfaces.WSGI,
        "address": settings.host,
        "port": settings.port,
        "workers": max(1, settings.workers),
        "blocking_threads": threads,
        "websockets": False,
        # the query string may be as long as a body (KG_MAX_BODY), plus the headers
        "http1_settings": HTTP1Settings(header_read_timeout=10_000,
                                        max_buffer_size=settings.max_body + 64 * 1024),
        "log_access": False,  # written by kg.web.wsgi, with the request id and size
        "respawn_failed_workers": True,
        "respawn_interval": 0.5,
        "workers_kill_timeout": int(settings.query_timeout) + 5,
    }


def worker_app() -> Any:
    """The WSGI application of one worker process (granian calls it after the fork)."""
    from kg.web import create_app
    from kg.web.context import RUNNER, STORE
    from kg.web.executor import QueryProcesses
    from kg.web.wsgi import served

    # Until granian installs the worker's own handlers (after this returns), the worker has
    # the main process's, inherited across the fork: a SIGTERM sent while the app loads (a
    # shutdown racing a respawn) would be lost and the worker would serve on. Dying of it
    # is right.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    settings: Settings = pickle.loads(base64.b64decode(os.environ[WORKER_SETTINGS]))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="[%(levelname)s] %(name)s: %(message)s")
    app = create_app(settings)
    if not is_remote(settings.store):
        processes = QueryProcesses(settings.store, settings.max_inflight,
                                   settings.queue_timeout, settings.query_timeout)
        app.extensions[RUNNER] = processes
        atexit.register(processes.close)
        # the first query process starts now, off the request path
        threading.Thread(target=processes.warm, name="kg-warm", daemon=True).start()
    return served(app, settings, app.extensions[STORE])
