"""The resources a request uses, kept on the app (``app.extensions``), never in globals."""

from __future__ import annotations

import threading

from flask import current_app

from kg.config import Settings
from kg.store import BuildInfo, Store

STORE = "kg.store"
STORE_LOCK = "kg.store_lock"
RUNNER = "kg.query_runner"
DESCRIPTIONS = "kg.service_descriptions"
SERVICE_ALLOW = "kg.service_allow"
RESULTS = "kg.result_cache"


def settings() -> Settings:
    return current_app.config["KG_SETTINGS"]


def store() -> tuple[Store, BuildInfo]:
    """The store, switched to the newest generation if a build or update published one.

    Raises :class:`~kg.errors.StoreError` when the store is not readable.
    """
    ext = current_app.extensions
    db: Store = ext[STORE]
    lock: threading.Lock = ext[STORE_LOCK]
    with lock:
        db.refresh()
        return db, db.info
