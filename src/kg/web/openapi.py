"""``/openapi.json``: an OpenAPI 3.1 description of the public HTTP API.

It is a plain dictionary built from the same tables the server uses (the result and graph
formats of :mod:`kg.formats`, the dumps of :mod:`kg.web.dataset`, the representations of
:mod:`kg.web.pages`), so a format added there shows up here. ``docs/endpoint.md`` and
``docs/web.md`` are the prose; this is the machine-readable twin, exercised with
schemathesis against the real server (``tests/integration/test_openapi.py``): no 5xx,
every status code and media type a response has is one documented here.

>>> spec = openapi_document()
>>> spec["openapi"], "/sparql" in spec["paths"]
('3.1.0', True)
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from kg import __version__
from kg.formats import GRAPH_FORMATS, RESULT_FORMATS
from kg.web.dataset import DUMPS
from kg.web.pages import RDF_REPRESENTATIONS

bp = Blueprint("openapi", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"

_STRING = {"type": "string"}
_ANY_BODY: dict[str, Any] = {}  # a text, JSON-LD or binary body, not checked further

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error", "request_id"],
    "properties": {
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "error": {"type": "string", "description": "one message, never a stack trace"},
        "request_id": {"type": "string"},
    },
}


def _error(description: str, *headers: str) -> dict[str, Any]:
    """An error response: one line of ``text/plain``, or JSON when ``Accept`` prefers it."""
    resp: dict[str, Any] = {
        "description": description,
        "content": {
            "text/plain": {"schema": _STRING},
            "application/json": {"schema": ERROR_SCHEMA},
        },
    }
    if headers:
        resp["headers"] = {h: {"schema": _STRING} for h in headers}
    return resp


def _content(media_types: list[str]) -> dict[str, Any]:
    return {m: {"schema": _ANY_BODY} for m in media_types}


RESULT_TYPES = [f.media_type for f in RESULT_FORMATS]
GRAPH_TYPES = [f.media_type for f in GRAPH_FORMATS]
PAGE_TYPES = ["text/html", *(r.media_type for r in RDF_REPRESENTATIONS)]
SUFFIXES = ["html", *(r.suffix for r in RDF_REPRESENTATIONS)]

_REPEATED = {"type": "array", "items": _STRING}

EXAMPLES: dict[str, list[Any]] = {
    "query": ["SELECT * WHERE { ?s ?p ?o } LIMIT 5", "ASK { ?s ?p ?o }",
              "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5",
              "DESCRIBE <https://w3id.org/duikou/id/division/330000>"],
    "default-graph-uri": [["https://w3id.org/duikou/graph/data"]],
    "named-graph-uri": [["https://w3id.org/duikou/graph/reference"]],
    "inference": ["none"],
    "format": [f.name for f in RESULT_FORMATS],
    "output": ["json"],
}


def _param(name: str, description: str, schema: dict[str, Any] | None = None,
           where: str = "query", **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "description": description,
                         "schema": schema or _STRING, **extra}
    if name in EXAMPLES:
        p["examples"] = {f"e{i}": {"value": v} for i, v in enumerate(EXAMPLES[name])}
    if schema is _REPEATED:
        p.update(style="form", explode=True)
    return p


DATASET_PARAMS = [
    _param("default-graph-uri", "Repeatable: the default graph is the merge of these graphs "
           "(an absolute IRI each).", _REPEATED),
    _param("named-graph-uri", "Repeatable: the named graphs GRAPH can see (absolute IRIs).",
           _REPEATED),
    _param("inference", "`none` (also `false`, `off`) answers from the asserted graphs only; "
           "default: with the inferred graph."),
    _param("format", "The response format by short name or media type (json, xml, csv, tsv, "
           "turtle, nt, jsonld, rdf+xml, nq, trig, n3); overrides Accept."),
    _param("output", "Alias of `format`."),
]

SPARQL_RESPONSES: dict[str, Any] = {
    "200": {
        "description": "Query results (SELECT/ASK: SPARQL results; CONSTRUCT/DESCRIBE: RDF), "
                       "the Service Description (RDF) on a request without an operation, or "
                       "an applied update (text/plain).",
        "headers": {
            "X-KG-Build-Id": {"schema": _STRING, "description": "the generation that answered"},
            "X-KG-Rows": {"schema": _STRING, "description": "rows or triples sent"},
            "X-KG-Max-Rows": {"schema": _STRING, "description": "KG_MAX_ROWS"},
            "X-KG-Truncated": {"schema": {"type": "string", "enum": ["true", "false"]}},
            "X-Request-Id": {"schema": _STRING},
        },
        "content": _content([*RESULT_TYPES, *GRAPH_TYPES, "text/plain"]),
    },
    "303": {"description": "A browser asked for the Service Description: see `/`.",
            "headers": {"Location": {"schema": _STRING}}},
    "400": _error("Malformed query or update (with line and column), two operations, an "
                  "update by GET, an unknown `inference` value, a graph parameter that is not "
                  "an IRI, a SERVICE/LOAD target that is not allowed."),
    "401": _error("An update without the right bearer token.", "WWW-Authenticate"),
    "403": _error("An update while updates are not enabled (no KG_UPDATE_TOKEN)."),
    "406": _error("No offered format is acceptable; the message lists them."),
    "413": _error("The request body is over KG_MAX_BODY."),
    "414": _error("The query string is over KG_MAX_BODY."),
    "415": _error("A POST with another Content-Type, or a charset other than UTF-8."),
    "503": _error("The query ran over KG_QUERY_TIMEOUT, every query slot stayed busy for "
                  "KG_QUEUE_TIMEOUT, the store is unreadable, or another update holds the "
                  "store's lock.", "Retry-After"),
}

FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "a SPARQL query"},
        "update": {"type": "string", "description": "a SPARQL update (needs the token)"},
        "default-graph-uri": _REPEATED,
        "named-graph-uri": _REPEATED,
        "using-graph-uri": _REPEATED,
        "using-named-graph-uri": _REPEATED,
        "inference": _STRING,
        "format": _STRING,
        "output": _STRING,
    },
}

_RDF_PAGE_200 = {
    "description": "The resource as HTML or RDF, chosen by Accept (then `Vary: Accept` and "
                   "`Content-Location`); `Link` lists every representation.",
    "headers": {"Link": {"schema": _STRING}},
    "content": _content(PAGE_TYPES),
}
_NOT_ACCEPTABLE_PAGE = {"description": "Nothing offered is acceptable.",
                        "content": _content(["text/plain"])}
_NOT_FOUND = _error("No such resource.")


def _page(summary: str, description: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "description": description,
                    "responses": {"200": _RDF_PAGE_200, "404": _NOT_FOUND,
                                  "406": _NOT_ACCEPTABLE_PAGE}}}


def _json_get(summary: str, schema: dict[str, Any], extra: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": summary, "content": {"application/json": {"schema": schema}}},
    }
    responses.update(extra or {})
    return {"get": {"summary": summary, "responses": responses}}


QUERY_ITEM = {
    "type": "object",
    "required": ["name", "title", "title_zh", "description", "description_zh", "text", "query",
                 "url"],
    "properties": {k: _STRING for k in ("name", "title", "title_zh", "description",
                                         "description_zh", "text", "query", "url")},
}

HEALTH_OK = {
    "type": "object",
    "required": ["status", "build_id", "built_at", "reasoner", "graphs", "triples"],
    "properties": {
        "status": {"const": "ok"},
        "build_id": _STRING,
        "built_at": _STRING,
        "reasoner": _STRING,
        "graphs": {"type": "object", "additionalProperties": {"type": "integer"}},
        "triples": {"type": "integer"},
    },
}
HEALTH_DOWN = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {"status": {"const": "unavailable"}, "error": _STRING},
}

DUMP_NAMES = [name for d in DUMPS for name in (d.name, d.name + ".gz")]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the public HTTP API."""
    sparql_get = {
        "summary": "SPARQL query by GET, or the Service Description without `query`",
        "parameters": [
            _param("query", "The SPARQL query (at most one). Without it: the Service "
                   "Description."),
            *DATASET_PARAMS,
        ],
        "responses": SPARQL_RESPONSES,
    }
    sparql_post = {
        "summary": "SPARQL query or update by POST",
        "description": "A form (`query=` or `update=`), or the query/update as the body. "
                       "Updates need `Authorization: Bearer <token>` and are off unless the "
                       "server has a token.",
        "parameters": DATASET_PARAMS,
        "requestBody": {
            "required": True,
            "content": {
                FORM: {"schema": FORM_SCHEMA},
                QUERY_TYPE: {"schema": _STRING},
                UPDATE_TYPE: {"schema": _STRING},
            },
        },
        "security": [{}, {"bearer": []}],
        "responses": SPARQL_RESPONSES,
    }
    paths: dict[str, Any] = {
        "/sparql": {"get": sparql_get, "post": sparql_post},
        "/healthz": {"get": {
            "summary": "Is the store readable, and which build it serves",
            "responses": {
                "200": {"description": "Serving.",
                        "content": {"application/json": {"schema": HEALTH_OK}}},
                "503": {"description": "The store cannot be read.",
                        "headers": {"Retry-After": {"schema": _STRING}},
                        "content": {"application/json": {"schema": HEALTH_DOWN}}},
            }}},
        "/id/{name}": {"get": {
            "summary": "Linked-data page of https://w3id.org/duikou/id/{name}",
            "description": "HTML or RDF by Accept, or by a suffix (.html .ttl .jsonld .nt "
                           ".rdf). Names are whitelisted and only ever become one IRI.",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": _STRING, "example": "division/330000",
                            "description": "e.g. division/330000"}],
            "responses": {
                "200": _RDF_PAGE_200,
                "308": {"description": "A path with `//` is redirected to its merged form.",
                        "headers": {"Location": {"schema": _STRING}}},
                "404": {"description": "The graph says nothing about this IRI.",
                        "content": _content(["text/html", "text/plain"])},
                "406": _NOT_ACCEPTABLE_PAGE,
            }}},
        "/ontology": _page("The ontology: documentation (HTML) or the ontology graph (RDF)",
                           "Chosen by Accept."),
        "/ontology.{suffix}": {"get": {
            "summary": "The ontology in one representation, by suffix",
            "parameters": [{"name": "suffix", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": SUFFIXES}}],
            "responses": {"200": _RDF_PAGE_200, "404": _NOT_FOUND}}},
        "/void": _page("VoID and DCAT description of the dataset", "Chosen by Accept."),
        "/.well-known/void": _page("The same as /void", "Chosen by Accept."),
        "/void.{suffix}": {"get": {
            "summary": "The dataset description in one representation, by suffix",
            "parameters": [{"name": "suffix", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": SUFFIXES}}],
            "responses": {"200": _RDF_PAGE_200, "404": _NOT_FOUND}}},
        "/download/": {"get": {
            "summary": "The list of dumps",
            "responses": {"200": {"description": "HTML", "content": _content(["text/html"])}}}},
        "/download/{name}": {"get": {
            "summary": "A dump of every graph (attachment; ETag and ranges)",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": DUMP_NAMES}}],
            "responses": {
                "200": {"description": "The dump; a plain name is sent gzip-encoded to "
                                       "clients that accept gzip.",
                        "headers": {"X-KG-Build": {"schema": _STRING}},
                        "content": _content([*(d.media_type for d in DUMPS),
                                             "application/gzip"])},
                "404": _NOT_FOUND,
            }}},
        "/queries.json": _json_get("The competency questions offered as examples",
                                   {"type": "array", "items": QUERY_ITEM}),
        "/queries/{name}.rq": {"get": {
            "summary": "One competency question as its file",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string"}, "example": "pairings"}],
            "responses": {"200": {"description": "The query file.",
                                  "content": _content([QUERY_TYPE])},
                          "404": _NOT_FOUND}}},
        "/prefixes.json": _json_get("The project's prefixes",
                                    {"type": "object", "additionalProperties": _STRING}),
        "/network.json": _json_get("The pairing network: queries and their results",
                                   {"type": "object"}),
        "/": {"get": {"summary": "The query UI (YASGUI)",
                      "responses": {"200": {"description": "HTML",
                                            "content": _content(["text/html"])}}}},
        "/network": {"get": {"summary": "The pairing network picture",
                             "responses": {"200": {"description": "HTML",
                                                   "content": _content(["text/html"])}}}},
        "/openapi.json": _json_get("This document", {"type": "object"}),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Duikou KG",
            "version": __version__,
            "description": "The SPARQL 1.1 Protocol endpoint, linked-data pages and dumps of "
                           "the Duikou knowledge graph (对口帮扶知识图谱). Error bodies are "
                           "one line of text/plain, or JSON `{status, error, request_id}` "
                           "when Accept prefers application/json; every response carries "
                           "X-Request-Id. See docs/endpoint.md, docs/web.md and SECURITY.md.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "KG_UPDATE_TOKEN, for SPARQL Update only"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    resp = jsonify(openapi_document())
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
