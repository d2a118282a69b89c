"""The web face: a Flask application factory with one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from kg.config import Settings
from kg.store import open_store


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app for ``settings`` (default: from the ``KG_*`` environment).

    The store is opened here, read-only, and kept in ``app.extensions["kg.store"]``, with
    the other per-process resources (the query runner, the service description cache).
    """
    from kg.federation import parse_allow_list
    from kg.web import context, cors, dataset, errors, health, ontology_docs, resources, sparql, ui
    from kg.web.cache import ResultCache, cache_share
    from kg.web.executor import ThreadRunner
    from kg.web.openapi import bp as openapi_bp
    from kg.web.service_description import DescriptionCache

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    store = open_store(settings.store, timeout=settings.query_timeout)
    app.extensions[context.STORE] = store
    # Queries run on threads here; kg.web.server gives its workers on an embedded
    # store killable query processes instead (kg.web.executor).
    app.extensions[context.RUNNER] = ThreadRunner(store, settings.max_inflight,
                                                  settings.queue_timeout)
    app.extensions[context.DESCRIPTIONS] = DescriptionCache()
    app.extensions[context.RESULTS] = ResultCache(cache_share(settings))
    app.extensions[context.SERVICE_ALLOW] = parse_allow_list(settings.service_allow)

    errors.register(app)
    cors.register(app, settings.cors_origins)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(health.bp)
    app.config["KG_QUERIES_DIR"] = str(settings.queries_dir)
    app.register_blueprint(ui.bp)  # /, /network, /queries.json, /assets/…
    app.register_blueprint(resources.bp)  # /id/…
    app.register_blueprint(ontology_docs.bp)  # /ontology
    app.register_blueprint(dataset.bp)  # /void, /download/…
    app.register_blueprint(openapi_bp)  # /openapi.json
    return app
