"""CORS, so that browser tools on other origins (YASGUI, notebooks) can query ``/sparql``.

``KG_CORS_ORIGINS`` is ``*`` (any origin, the default), a comma-separated list of origins,
or empty (no CORS headers: browsers then refuse cross-origin reads).
"""

from __future__ import annotations

from flask import Flask, Response, request

EXPOSED = "X-KG-Truncated, X-KG-Max-Rows, X-KG-Rows, X-KG-Build-Id, X-Request-Id, Retry-After"
ALLOWED_HEADERS = "Accept, Authorization, Content-Type, X-Request-Id"


def register(app: Flask, origins: str) -> None:
    allowed = {o.strip().rstrip("/") for o in origins.split(",") if o.strip()}
    if not allowed:
        return
    any_origin = "*" in allowed

    @app.after_request
    def add_cors(resp: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None:
            return resp
        if any_origin:
            resp.headers["Access-Control-Allow-Origin"] = "*"
        elif origin.rstrip("/") in allowed:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.vary.add("Origin")
        else:
            return resp
        resp.headers["Access-Control-Expose-Headers"] = EXPOSED
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", ALLOWED_HEADERS)
            resp.headers["Access-Control-Max-Age"] = "86400"
        return resp
