"""Error responses: a status and one clear message, never a stack trace.

Bodies are ``text/plain``, or JSON (``{"status", "error", "request_id"}``) when the client's
``Accept`` rates ``application/json`` above ``text/plain``. Every response carries an
``X-Request-Id``; a 500 logs the traceback under that id, so an operator can find it.
"""

from __future__ import annotations

import json
import logging
import random
import re

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from kg.web.negotiation import prefers

log = logging.getLogger("kg.web")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class HttpError(Exception):
    """An error answered with ``status`` and ``message`` (and extra ``headers``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def request_id() -> str:
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = new_request_id(request.headers.get("X-Request-Id", ""))
    return rid


def new_request_id(incoming: str) -> str:
    """The client's ``X-Request-Id`` if it is a sane token, else a fresh random one."""
    return incoming if _REQUEST_ID.match(incoming) else f"{random.getrandbits(64):016x}"


MAX_MESSAGE = 1000
"""Characters of an error message sent; longer ones (which echo a huge value the client
sent, such as a 60 KB ``format=``) are cut, so an error never amplifies a request."""


def error_response(status: int, message: str, headers: dict[str, str] | None = None
                   ) -> Response:
    """The response for an error, in the format the client prefers."""
    rid = request_id()
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " … (message cut)"
    if prefers(request.headers.get("Accept"), "application/json", "text/plain"):
        body = json.dumps({"status": status, "error": message, "request_id": rid},
                          ensure_ascii=False)
        resp = Response(body + "\n", status=status, mimetype="application/json")
    else:
        resp = Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def register(app: Flask) -> None:
    """Install the error handlers and the request id on ``app``."""

    @app.after_request
    def add_request_id(resp: Response) -> Response:
        resp.headers["X-Request-Id"] = request_id()
        return resp

    @app.errorhandler(HttpError)
    def on_http_error(e: HttpError) -> Response:
        return error_response(e.status, e.message, e.headers)

    @app.errorhandler(HTTPException)
    def on_werkzeug(e: HTTPException) -> Response:
        headers = {}
        for key, value in e.get_headers():
            if key.lower() in ("allow", "retry-after", "www-authenticate"):
                headers[key] = value
        message = f"{e.code} {e.name}: {e.description}"
        if e.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = (f"413 Request Entity Too Large: the request body exceeds the limit "
                       f"of {limit} bytes (KG_MAX_BODY)")
        return error_response(e.code or 500, message, headers)

    @app.errorhandler(Exception)
    def on_exception(e: Exception) -> Response:
        rid = request_id()
        log.error("request %s failed: %s %s", rid, request.method, request.path, exc_info=e)
        return error_response(
            500, f"internal error ({e.__class__.__name__}); request id {rid} is in the "
                 "server log")
