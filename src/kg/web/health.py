"""``/healthz``: is the store readable, and which build does it serve."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from kg.errors import StoreError
from kg.web import context

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the build id, build time, reasoner and triples per graph; 503 if the store
    cannot be read."""
    try:
        _, info = context.store()
    except StoreError as e:
        resp = jsonify(status="unavailable", error=str(e))
        resp.headers["Retry-After"] = "5"
        return resp, 503
    return jsonify(status="ok", build_id=info.build_id, built_at=info.built_at,
                   reasoner=info.reasoner, graphs=info.counts,
                   triples=sum(info.counts.values())), 200
