"""The WSGI layer between the HTTP server and the Flask app: repeated answers, and the
access log.

**Repeated answers.** A ``GET /sparql`` whose answer the app served from its answer cache
(:mod:`kg.web.cache`) is kept here as the whole HTTP response, keyed by everything it
depends on: the store's build id (the store follows a new build with one ``readlink``),
the query string, ``Accept``, ``Origin`` and the host. The same request again is answered
from memory without entering Flask: on a lookup Flask's request handling costs several
times the query itself. Only answers the app marked cacheable (``X-KG-Cache``) are kept,
so the rules for what may be cached (no ``SERVICE``, no ``RAND()``…) stay in one place;
each copy gets a request id of its own and says ``X-KG-Cache: hit``.

**Access log.** One line per request, written when the response has been sent: client,
request line, status, body bytes, milliseconds and the request id (``X-Request-Id``), which
also names the request in error log lines. The request line is cut at :data:`MAX_LINE`
characters, since a query string may be a megabyte long.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kg.config import Settings
from kg.errors import StoreError
from kg.store import Store
from kg.web.cache import CachedAnswer, CacheKey, ResultCache, cache_share
from kg.web.errors import new_request_id

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


def served(app: WSGIApp, settings: Settings, store: Store) -> WSGIApp:
    """``app`` (serving ``store``) with the repeated-answer cache and the access log of
    ``settings``."""
    share = cache_share(settings)
    if share:
        app = RepeatedAnswers(app, store, share)
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


SPARQL_PATHS = frozenset({"/sparql", "/sparql/"})


class RepeatedAnswers:
    """Answer a repeated cacheable ``GET /sparql`` from memory, without calling ``app``."""

    def __init__(self, app: WSGIApp, store: Store, max_bytes: int) -> None:
        self.app = app
        self.store = store
        self.cache = ResultCache(max_bytes)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET"
                or environ.get("PATH_INFO") not in SPARQL_PATHS
                or not environ.get("QUERY_STRING")):
            return self.app(environ, start_response)
        try:
            self.store.refresh()
            build_id = self.store.info.build_id
        except StoreError:
            return self.app(environ, start_response)  # which answers why, with a 503
        key = (build_id, environ.get("SCRIPT_NAME", ""), environ["PATH_INFO"],
               environ["QUERY_STRING"], environ.get("HTTP_ACCEPT"),
               environ.get("HTTP_ORIGIN"), environ.get("HTTP_HOST"),
               environ.get("wsgi.url_scheme"))
        answer = self.cache.get(key)
        if answer is not None:
            rid = new_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
            start_response("200 OK", [*answer.headers, ("X-Request-Id", rid)])
            return [answer.body]
        return self._remember(key, build_id, environ, start_response)

    def _remember(self, key: CacheKey, build_id: str, environ: dict[str, Any],
                  start_response: StartResponse) -> Iterable[bytes]:
        """Call the app; keep its answer if the app says it is a cacheable one."""
        seen: list[tuple[str, list[tuple[str, str]]]] = []

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen.append((status, headers))
            return start_response(status, headers, *exc)

        body = self.app(environ, start)
        if not seen or not seen[0][0].startswith("200 "):
            return body
        headers = {name.lower(): value for name, value in seen[0][1]}
        length = headers.get("content-length", "")
        if (headers.get("x-kg-cache") not in ("hit", "miss")
                or headers.get("x-kg-build-id") != build_id
                or not length.isdigit() or int(length) > self.cache.max_entry):
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        kept = tuple((name, "hit" if name.lower() == "x-kg-cache" else value)
                     for name, value in seen[0][1] if name.lower() != "x-request-id")
        self.cache.put(key, CachedAnswer(data, headers.get("content-type", ""), kept))
        return [data]


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
