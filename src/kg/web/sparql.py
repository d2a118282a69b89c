"""``/sparql``: the SPARQL 1.1 Protocol — query and update operations — and, on a plain
``GET``, the Service Description.

See ``docs/endpoint.md`` for the HTTP API this implements.
"""

from __future__ import annotations

import hmac
import logging

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from kg.errors import ForbiddenService, StoreError
from kg.federation import check_service_targets
from kg.formats import GRAPH_FORMATS, RESULT_FORMATS, Format
from kg.sparqltext import DatasetConflict, add_using, operation
from kg.store import BuildInfo, QueryTimeout, Store, apply_update
from kg.web import context
from kg.web.cache import CachedAnswer, ResultCache, cacheable
from kg.web.errors import HttpError, error_response
from kg.web.executor import QueryJob, QueryRunner
from kg.web.limits import Busy, TimedOut
from kg.web.negotiation import NotAcceptable, choose, prefers
from kg.web.service_description import DescriptionCache

log = logging.getLogger("kg.web")

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
UTF8 = {"utf-8", "utf8"}
INFERENCE = {"": True, "true": True, "on": True, "owl-rl": True, "owlrl": True,
             "none": False, "false": False, "off": False}


@bp.route("/sparql", methods=["GET", "POST"])
@bp.route("/sparql/", methods=["GET", "POST"])
def endpoint() -> Response:
    kind, text, params = read_operation()
    if kind is None:
        return service_description()
    if kind == "update":
        return run_update(text, params)
    return run_query(text, params)


# --- reading the request -----------------------------------------------------------------

def read_operation() -> tuple[str | None, str, MultiDict]:
    """``(kind, text, parameters)``: kind is "query", "update" or None (no operation)."""
    settings = context.settings()
    if len(request.query_string) > settings.max_body:
        raise HttpError(414, f"the query string exceeds the limit of {settings.max_body} "
                             "bytes (KG_MAX_BODY); send long queries with POST")
    args = request.args
    if request.method == "GET":
        if "update" in args:
            raise HttpError(400, "updates must be sent with POST (update= in a form body, or "
                                 f"a {UPDATE_TYPE} body), not with GET")
        queries = args.getlist("query")
        if len(queries) > 1:
            raise HttpError(400, "the request has more than one query parameter")
        return ("query", queries[0], args) if queries else (None, "", args)

    mimetype = request.mimetype
    if mimetype == FORM:
        form = request.form
        queries, updates = form.getlist("query"), form.getlist("update")
        if queries and updates:
            raise HttpError(400, "the form has both a query and an update field; send one")
        if len(queries) > 1 or len(updates) > 1:
            raise HttpError(400, "the form has more than one query or update field")
        params = CombinedMultiDict([args, form])
        if queries:
            return "query", queries[0], params
        if updates:
            return "update", updates[0], params
        raise HttpError(400, "the form has neither a query nor an update field")
    if mimetype in (QUERY_TYPE, UPDATE_TYPE):
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in UTF8:
            raise HttpError(415, f"{mimetype} bodies must be UTF-8, not {charset}")
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError as e:
            raise HttpError(400, f"the request body is not valid UTF-8: {e}") from None
        return ("query" if mimetype == QUERY_TYPE else "update"), text, args
    what = f"Content-Type {mimetype}" if mimetype else "no Content-Type"
    raise HttpError(415, f"a POST to /sparql with {what} is not understood; use {FORM} "
                         f"(query= or update=), {QUERY_TYPE} or {UPDATE_TYPE}")


def _inference(params: MultiDict) -> bool:
    value = params.get("inference", "").strip().lower()
    if value not in INFERENCE:
        raise HttpError(400, f"inference={value!r} is not understood; use inference=none "
                             "to query the asserted graphs only")
    return INFERENCE[value]


def _graph_iris(params: MultiDict, name: str) -> list[str]:
    """The values of a graph parameter, each checked to be an absolute IRI (400 if not)."""
    values = params.getlist(name)
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError as e:
            raise HttpError(400, f"{name}={value!r} is not an absolute IRI: {e}") from None
    return values


def _format_asked(params: MultiDict) -> str | None:
    return params.get("format") or params.get("output") or None


# --- query ---------------------------------------------------------------------------------

def run_query(text: str, params: MultiDict) -> Response:
    settings = context.settings()
    kind, form = operation(text)
    if kind == "update":
        raise HttpError(400, f"this is a SPARQL update ({form}), not a query; send it to the "
                             f"update operation: POST with update= or a {UPDATE_TYPE} body")
    inference = _inference(params)
    default_graphs = _graph_iris(params, "default-graph-uri")
    named_graphs = _graph_iris(params, "named-graph-uri")
    accept = request.headers.get("Accept")
    asked = _format_asked(params)
    fmt: Format | None = None
    try:
        if form in ("SELECT", "ASK"):
            fmt = choose(RESULT_FORMATS, accept, asked)
        elif form in ("CONSTRUCT", "DESCRIBE"):
            fmt = choose(GRAPH_FORMATS, accept, asked)
    except NotAcceptable as e:
        raise HttpError(406, str(e)) from None
    _, info = _available_store()
    base_iri = request.base_url
    _check_targets(text, base_iri)
    max_rows = settings.max_rows
    cache: ResultCache = current_app.extensions[context.RESULTS]
    key = (info.build_id, text, inference, tuple(default_graphs), tuple(named_graphs),
           base_iri, accept, asked, max_rows) if cache.max_bytes and cacheable(text) else None
    cached = cache.get(key) if key is not None else None
    if cached is not None:
        return _cached_response(cached, "hit")

    job = QueryJob(text, inference, tuple(default_graphs), tuple(named_graphs), base_iri,
                   accept, asked, fmt.name if fmt else None, max_rows)
    runner: QueryRunner = current_app.extensions[context.RUNNER]
    try:
        answer = runner.run(job, settings.query_timeout)
    except Busy:
        raise HttpError(503, f"the server is busy: all {runner.size} query slots of this "
                             f"worker stayed taken for {runner.wait:g} s (KG_MAX_INFLIGHT, "
                             "KG_QUEUE_TIMEOUT); try again shortly",
                        {"Retry-After": "1"}) from None
    except TimedOut:
        return _timed_out(settings.query_timeout, stopped=runner.stops_overruns)
    except QueryTimeout:  # a remote store stopped the query itself: nothing left running
        return _timed_out(settings.query_timeout, stopped=True)
    except SyntaxError as e:
        raise HttpError(400, f"malformed query: {e}") from None
    except StoreError as e:
        raise HttpError(503, f"the store is not available: {e}",
                        {"Retry-After": "5"}) from None
    except NotAcceptable as e:
        raise HttpError(406, str(e)) from None

    chosen, spool, written = answer.format, answer.spool, answer.written
    if answer.build_id != info.build_id:
        key = None  # a build was published meanwhile: the answer is not the key's
    content_type = chosen.media_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    headers = [("X-KG-Build-Id", answer.build_id)]
    if written.rows is not None:
        headers += [("X-KG-Rows", str(written.rows)), ("X-KG-Max-Rows", str(max_rows)),
                    ("X-KG-Truncated", "true" if written.truncated else "false")]
    body = spool.body()
    if key is not None and isinstance(body, bytes):
        kept = CachedAnswer(body, content_type, tuple(headers))
        cache.put(key, kept)
        return _cached_response(kept, "miss")
    resp = Response(body, status=200, content_type=content_type)
    resp.headers["Content-Length"] = str(spool.size)
    resp.headers.extend(headers)
    resp.headers["X-KG-Cache"] = "miss" if key is not None else "off"
    resp.vary.add("Accept")
    return resp


def _cached_response(answer: CachedAnswer, state: str) -> Response:
    resp = Response(answer.body, status=200, content_type=answer.content_type)
    resp.headers["Content-Length"] = str(len(answer.body))
    resp.headers.extend(answer.headers)
    resp.headers["X-KG-Cache"] = state
    resp.vary.add("Accept")
    return resp


def _timed_out(limit: float, *, stopped: bool) -> Response:
    """The 503 for a query over the time limit; ``stopped`` says whether its work ended."""
    if not stopped:
        log.warning("a query overran its time limit of %g s; it cannot be stopped on a "
                    "thread and keeps running in the background until it ends", limit)
    return error_response(503, f"the query did not finish within the time limit of {limit:g} s "
                               "(KG_QUERY_TIMEOUT) and was stopped; simplify it or add a LIMIT",
                          {"Retry-After": "1"})


def _check_targets(text: str, base_iri: str) -> None:
    """Refuse ``SERVICE``/``LOAD`` targets outside the allow-list (``KG_SERVICE_ALLOW``)."""
    lowered = text.lower()
    if "service" not in lowered and "load" not in lowered:
        return  # the common case, without parsing
    try:
        check_service_targets(text, current_app.extensions[context.SERVICE_ALLOW],
                              base_iri=base_iri)
    except ForbiddenService as e:
        raise HttpError(400, str(e)) from None


# --- update --------------------------------------------------------------------------------

def run_update(text: str, params: MultiDict) -> Response:
    settings = context.settings()
    token = settings.update_token
    if not token:
        raise HttpError(403, "updates are disabled on this endpoint; start `kg serve` with "
                             "--update-token (or KG_UPDATE_TOKEN) to enable them")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    ):
        raise HttpError(401, "updates need the header 'Authorization: Bearer <token>' with "
                             "the server's update token",
                        {"WWW-Authenticate": 'Bearer realm="kg sparql update"'})
    kind, form = operation(text)
    if kind == "query":
        raise HttpError(400, f"this is a SPARQL query ({form}), not an update; send it to the "
                             f"query operation: GET or POST with query= or a {QUERY_TYPE} body")
    _check_targets(text, request.base_url)
    try:
        text = add_using(text, _graph_iris(params, "using-graph-uri"),
                         _graph_iris(params, "using-named-graph-uri"))
    except DatasetConflict as e:
        raise HttpError(400, str(e)) from None
    try:
        info = apply_update(settings.store, text, base_iri=request.base_url)
    except SyntaxError as e:
        raise HttpError(400, f"malformed update: {e}") from None
    except StoreError as e:
        raise HttpError(503, str(e), {"Retry-After": "1"}) from None
    log.info("update applied: new generation %s", info.build_id)
    resp = Response(f"update applied; the store now serves build {info.build_id}\n",
                    status=200, mimetype="text/plain")
    resp.headers["X-KG-Build-Id"] = info.build_id
    return resp


def _available_store() -> tuple[Store, BuildInfo]:
    """The store and its build, or 503 (with ``Retry-After``) when it cannot be read."""
    try:
        return context.store()
    except StoreError as e:
        raise HttpError(503, f"the store is not available: {e}",
                        {"Retry-After": "5"}) from None


# --- service description -----------------------------------------------------------------

def service_description() -> Response:
    accept = request.headers.get("Accept")
    if prefers(accept, "text/html", "text/turtle") and not _format_asked(request.args):
        return redirect("/", code=303)
    try:
        fmt = choose(GRAPH_FORMATS, accept, _format_asked(request.args))
    except NotAcceptable as e:
        raise HttpError(406, str(e)) from None
    _, info = _available_store()
    settings = context.settings()
    cache: DescriptionCache = current_app.extensions[context.DESCRIPTIONS]
    body = cache.get(request.base_url, info, fmt, update=bool(settings.update_token),
                     federation=bool(current_app.extensions[context.SERVICE_ALLOW]))
    content_type = fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/")
                                     else "")
    resp = Response(body, content_type=content_type)
    resp.vary.add("Accept")
    return resp
