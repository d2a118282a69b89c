"""Running the app: gunicorn in production, Flask's reloader with ``--dev``.

Production: ``KG_WORKERS`` gunicorn worker processes (``gthread``), each opening the store
read-only after the fork and running ``KG_THREADS`` threads, of which ``KG_MAX_INFLIGHT``
may evaluate queries at once; the spare threads answer health checks, service
descriptions and "busy" refusals without waiting. On an embedded store each worker
evaluates queries in killable child processes (:class:`kg.web.executor.QueryProcesses`):
a query that overruns the time limit is stopped by killing its process, and the worker
serves on. SIGTERM stops gracefully: no new connections, requests in flight finish (up to
the query time limit plus a margin). On a remote store queries run on threads; a worker
whose query overran there retires (see :mod:`kg.web.limits`) and the arbiter replaces it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from kg.config import Settings, is_remote
from kg.web.context import RUNNER

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)sB %(M)sms rid=%({x-request-id}o)s'
"""One line per request: client, request line, status, body bytes, milliseconds, request id."""


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn configuration for ``settings``."""
    threads = settings.threads or settings.max_inflight + 2
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": max(1, settings.workers),
        "worker_class": "gthread",
        "threads": threads,
        "worker_connections": max(100, threads * 4),
        "accesslog": settings.access_log or None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "graceful_timeout": int(settings.query_timeout) + 5,
        "timeout": int(settings.query_timeout) + 30,
        "keepalive": 5,
        "limit_request_line": 0,  # the query string is limited by KG_MAX_BODY instead
        "proc_name": "kg-serve",
        "control_socket_disable": True,
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
    }


def _post_worker_init(worker: Any) -> None:
    """Start the worker's first query process in the background, off the request path."""
    runner = getattr(worker.wsgi, "extensions", {}).get(RUNNER)
    warm = getattr(runner, "warm", None)
    if warm is not None:
        threading.Thread(target=warm, name="kg-warm", daemon=True).start()


def _worker_exit(arbiter: Any, worker: Any) -> None:
    """Stop the worker's query processes; exit at once if query threads still run.

    Query threads are inside pyoxigraph and cannot be stopped; letting the interpreter
    finalise around them crashes the process (SIGSEGV). The hook also runs in the arbiter
    when it reaps a vanished worker, where it must do nothing.
    """
    if os.getpid() != worker.pid:
        return
    app = getattr(worker, "wsgi", None)
    runner = getattr(app, "extensions", {}).get(RUNNER)
    if runner is None:
        return
    runner.close()
    if runner.in_use > 0:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def serve(settings: Settings, *, dev: bool = False) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C drain in-flight requests first)."""
    if dev:
        from kg.web import create_app

        logging.getLogger("kg").setLevel(logging.INFO)
        create_app(settings).run(host=settings.host, port=settings.port, debug=True,
                                 use_reloader=True, use_debugger=False, threaded=True)
        return

    from gunicorn.app.base import BaseApplication

    class KGApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from kg.web import create_app
            from kg.web.executor import QueryProcesses

            app = create_app(settings)
            app.config["KG_RETIRE_ON_TIMEOUT"] = True
            if not is_remote(settings.store):
                app.extensions[RUNNER] = QueryProcesses(
                    settings.store, settings.max_inflight, settings.queue_timeout,
                    settings.query_timeout)
            return app

    KGApplication().run()
