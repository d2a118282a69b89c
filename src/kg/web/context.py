"""The resources a request uses, kept on the app (``app.extensions``), never in globals."""

from __future__ import annotations

from flask import current_app

from kg.config import Settings
from kg.store import BuildInfo, Store

STORE = "kg.store"
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
    db: Store = current_app.extensions[STORE]
    db.refresh()  # thread-safe, and lock-free unless a new generation must be opened
    return db, db.info
