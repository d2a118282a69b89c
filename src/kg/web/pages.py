"""What the human-facing pages share: security headers, labels, links and a per-build cache.

Every page module (:mod:`kg.web.ui`, :mod:`kg.web.resources`, :mod:`kg.web.ontology_docs`,
:mod:`kg.web.dataset`) renders Jinja templates from ``kg/templates`` (autoescaped: labels and
quotes come from the data and are never trusted) and sends the same
Content-Security-Policy, which allows nothing from another origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
from flask import Response, abort, current_app, request

from kg.namespaces import BASE, DK, ID, ONTOLOGY_IRI, PREFIXES, Graphs
from kg.store import Store
from kg.web import context
from kg.web.negotiation import parse_accept, quality

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = str(PACKAGE / "templates")
STATIC = str(PACKAGE / "static")


def content_security_policy(*style_hashes: str) -> str:
    """The policy of an HTML page: nothing from, or to, another origin; no inline script;
    inline styles only those whose hashes are given."""
    styles = " ".join(["'self'", *(f"'{h}'" for h in style_hashes)])
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        f"style-src {styles}",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


CSP = content_security_policy()
"""The policy of every HTML page: nothing is loaded from, or sent to, another origin."""

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREFLABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
LABEL_PREDICATES = (ox.NamedNode(RDFS_LABEL), ox.NamedNode(SKOS_PREFLABEL))
INFERRED = str(Graphs.INFERRED)

T = TypeVar("T")


def secure(resp: Response) -> Response:
    """Add the security headers to an HTML response (used as ``after_request``)."""
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def store() -> Store:
    """The app's store, moved to its newest generation."""
    return context.store()[0]


def generation_key(s: Store) -> str:
    return s.info.build_id + ":" + str(s.generation)


def cached(name: str, build: Callable[[], T]) -> T:
    """``build()`` once per store generation and name, kept on the app."""
    s = store()
    cache: dict[tuple[str, str], Any] = current_app.extensions.setdefault("kg.pages.cache", {})
    key = (generation_key(s), name)
    if key not in cache:
        stale = [k for k in cache if k[0] != key[0]]
        for k in stale:
            del cache[k]
        cache[key] = build()
    return cache[key]


# --- links and labels ---------------------------------------------------------------------

def local_href(iri: str) -> str | None:
    """This server's page for one of our IRIs, or None for an external IRI."""
    if iri.startswith(str(ID)) and len(iri) > len(str(ID)):
        return "/id/" + iri[len(str(ID)):]
    if iri.startswith(str(DK)):
        return "/ontology#" + iri[len(str(DK)):]
    if iri == str(ONTOLOGY_IRI):
        return "/ontology"
    if iri == BASE + "void" or iri.startswith(BASE + "void#"):
        return "/void" + iri[len(BASE + "void"):]
    if iri.startswith(BASE + "graph/"):
        return "/void#graph-" + iri[len(BASE + "graph/"):]
    return None


def shorten(iri: str) -> str:
    """A prefixed name where a project prefix fits, else the IRI."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(best) and iri != ns:
            best = ns
            name = f"{prefix}:{iri[len(ns):]}"
    return name if best else iri


def pick(labels: dict[str, str], lang: str) -> str | None:
    """The label in ``lang`` (``zh`` also takes ``zh-Hans``/``zh-CN``), else None."""
    if lang in labels:
        return labels[lang]
    for key, value in labels.items():
        if key.split("-")[0] == lang:
            return value
    return None


class Labels:
    """Labels (rdfs:label, skos:prefLabel) of IRIs, by language, looked up once each."""

    def __init__(self, s: Store) -> None:
        self._db = s
        self._cache: dict[str, dict[str, str]] = {}

    def of(self, iri: str) -> dict[str, str]:
        if iri not in self._cache:
            found: dict[str, str] = {}
            node = ox.NamedNode(iri)
            for pred in LABEL_PREDICATES:
                for q in self._db.quads_for_pattern(node, pred, None, None):
                    lit = q.object
                    if isinstance(lit, ox.Literal):
                        found.setdefault(lit.language or "", lit.value)
            self._cache[iri] = found
        return self._cache[iri]

    def text(self, iri: str) -> str:
        """One line for people: ``中文 · English``, or the prefixed name."""
        labels = self.of(iri)
        zh, en = pick(labels, "zh"), pick(labels, "en")
        parts = [x for x in (zh, en) if x]
        if not parts and "" in labels:
            parts = [labels[""]]
        if not parts and labels:
            parts = [next(iter(labels.values()))]
        return " · ".join(parts) if parts else shorten(iri)


@dataclass
class Term:
    """A term ready for a template: what to show, and where it links."""

    kind: str  # "iri", "literal", "bnode"
    value: str
    text: str
    href: str | None = None
    external: bool = False
    lang: str | None = None
    datatype: str | None = None
    children: list[Any] = field(default_factory=list)  # a blank node's statements


def term(node: object, labels: Labels) -> Term:
    """A :class:`Term` for a pyoxigraph node."""
    if isinstance(node, ox.NamedNode):
        iri = node.value
        href = local_href(iri)
        external = href is None and re.match(r"^https?://", iri) is not None
        return Term("iri", iri, labels.text(iri), href or (iri if external else None), external)
    if isinstance(node, ox.Literal):
        datatype = node.datatype.value
        shown = None if node.language or datatype == XSD_STRING else shorten(datatype)
        return Term("literal", node.value, node.value, lang=node.language or None,
                    datatype=shown)
    if isinstance(node, ox.BlankNode):
        return Term("bnode", node.value, "_:" + node.value)
    return Term("literal", str(node), str(node))


# --- content negotiation ------------------------------------------------------------------

@dataclass(frozen=True)
class Representation:
    """One way to answer for a resource: HTML or an RDF syntax."""

    name: str
    media_type: str
    suffix: str
    oxigraph: ox.RdfFormat | None = None


HTML = Representation("html", "text/html", "html")
RDF_REPRESENTATIONS = (
    Representation("turtle", "text/turtle", "ttl", ox.RdfFormat.TURTLE),
    Representation("jsonld", "application/ld+json", "jsonld", ox.RdfFormat.JSON_LD),
    Representation("nt", "application/n-triples", "nt", ox.RdfFormat.N_TRIPLES),
    Representation("rdfxml", "application/rdf+xml", "rdf", ox.RdfFormat.RDF_XML),
)
REPRESENTATIONS = (HTML, *RDF_REPRESENTATIONS)
BY_SUFFIX = {r.suffix: r for r in REPRESENTATIONS}
_EXTRA_TYPES = {"application/xhtml+xml": HTML, "application/json": RDF_REPRESENTATIONS[1],
                "application/xml": RDF_REPRESENTATIONS[3], "text/plain": RDF_REPRESENTATIONS[2]}


def negotiate(accept: str | None) -> Representation | None:
    """The representation ``accept`` rates best (HTML on a tie or without Accept);
    None when nothing offered is acceptable."""
    if not accept or not accept.strip():
        return HTML
    ranges = parse_accept(accept)
    best, best_q = None, 0.0
    for rep in REPRESENTATIONS:
        q = quality(rep.media_type, ranges)
        for extra, target in _EXTRA_TYPES.items():
            if target is rep:
                q = max(q, quality(extra, ranges, exact=True))
        if q > best_q:
            best, best_q = rep, q
    return best


def split_suffix(name: str) -> tuple[str, Representation | None]:
    """``("division/330000", turtle)`` for ``"division/330000.ttl"``; no suffix → None."""
    stem, dot, ext = name.rpartition(".")
    if dot and ext in BY_SUFFIX and stem:
        return stem, BY_SUFFIX[ext]
    return name, None


def serialize_triples(triples: Iterable[ox.Triple], rep: Representation) -> bytes:
    """Sorted triples written in ``rep`` with the project's prefixes where the syntax has them.
    """
    assert rep.oxigraph is not None
    ordered = sorted(set(triples), key=str)
    if rep.name not in ("turtle", "rdfxml", "jsonld"):
        return ox.serialize(ordered, format=rep.oxigraph)
    iris = {n.value for t in ordered for n in (t.subject, t.predicate, t.object)
            if isinstance(n, ox.NamedNode)}
    iris |= {t.object.datatype.value for t in ordered if isinstance(t.object, ox.Literal)}
    used = {p: ns for p, ns in PREFIXES.items() if any(i.startswith(ns) for i in iris)}
    return ox.serialize(ordered, format=rep.oxigraph, prefixes=used)


def rdf_response(body: bytes, rep: Representation, *, filename: str | None = None) -> Response:
    media = rep.media_type
    if media.startswith("text/"):
        media += "; charset=utf-8"
    resp = Response(body, content_type=media)
    if filename:
        resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return resp


def representation_for(suffix: str | None) -> tuple[Representation | None, bool]:
    """The representation a request asks for — by ``suffix`` (unknown → 404) or else by
    ``Accept`` — and whether it was negotiated (then the answer varies on ``Accept``)."""
    if suffix is not None:
        rep = BY_SUFFIX.get(suffix)
        if rep is None:
            abort(404)
        return rep, False
    return negotiate(request.headers.get("Accept")), True


def not_acceptable() -> Response:
    """406, naming what is offered."""
    offered = ", ".join(r.media_type for r in REPRESENTATIONS)
    return Response(f"406 Not Acceptable: offered {offered}\n", status=406,
                    mimetype="text/plain")


def with_negotiation_headers(resp: Response, path: str, rep: Representation | None,
                             negotiated: bool, *, canonical: str | None = None) -> Response:
    """``Link`` to every representation of ``path``; for a negotiated answer also
    ``Vary: Accept`` and the exact document in ``Content-Location``."""
    resp.headers["Link"] = alternates_link(path, canonical=canonical)
    if negotiated:
        resp.headers["Vary"] = "Accept"
        if rep is not None:
            resp.headers["Content-Location"] = f"{path}.{rep.suffix}"
    return resp


def alternates_link(path: str, *, canonical: str | None = None) -> str:
    """A ``Link`` header value naming every representation of the resource at ``path``."""
    links = [f'<{path}.{r.suffix}>; rel="alternate"; type="{r.media_type}"'
             for r in REPRESENTATIONS]
    if canonical:
        links.insert(0, f'<{canonical}>; rel="canonical"')
    return ", ".join(links)
