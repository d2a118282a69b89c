"""The WSGI layer between the HTTP server and the Flask app: the access log.

One line per request, written when the response has been sent: client, request line,
status, body bytes, milliseconds and the request id (``X-Request-Id``), which also names
the request in error log lines. The request line is cut at :data:`MAX_LINE` characters,
since a query string may be a megabyte long.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kg.config import Settings

MAX_LINE = 2000
"""Characters of the request line kept in the access log."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def access_logger(target: str) -> logging.Logger | None:
    """The access log for ``KG_ACCESS_LOG``: '-' standard output, '' none, else a file."""
    if not target:
        return None
    logger = logging.getLogger("kg.access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = (logging.StreamHandler(sys.stdout) if target == "-"
                   else logging.FileHandler(target, encoding="utf-8"))
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


def served(app: WSGIApp, settings: Settings) -> WSGIApp:
    """``app`` with the access log of ``settings`` (unchanged when it is off)."""
    logger = access_logger(settings.access_log)
    if logger is None:
        return app

    def logged(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            for name, value in headers:
                lowered = name.lower()
                if lowered == "x-request-id":
                    seen["rid"] = value
                elif lowered == "content-length":
                    seen["length"] = value
            return start_response(status, headers, *exc)

        body = app(environ, start)
        return _Logged(body, lambda sent: logger.info(
            _line(environ, seen, sent, time.perf_counter() - started)))

    return logged


def _line(environ: dict[str, Any], seen: dict[str, Any], sent: int, seconds: float) -> str:
    target = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        target += "?" + environ["QUERY_STRING"]
    request = f'{environ.get("REQUEST_METHOD", "")} {target} {environ.get("SERVER_PROTOCOL", "")}'
    if len(request) > MAX_LINE:
        request = request[:MAX_LINE] + "…"
    size = seen.get("length", sent)
    return (f'{environ.get("REMOTE_ADDR", "-")} "{request}" {seen.get("status", "-")} '
            f'{size}B {seconds * 1000:.1f}ms rid={seen.get("rid", "-")}')


class _Logged:
    """A response body that reports the bytes sent when the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._sent)
