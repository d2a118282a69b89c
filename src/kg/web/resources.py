"""``/id/…``: a linked-data page for every instance IRI of the graph.

``https://w3id.org/duikou/id/X`` is served at ``/id/X``: HTML for browsers, and the same
description (every statement about X and every statement pointing to X, asserted and
inferred) as Turtle, JSON-LD, N-Triples or RDF/XML, chosen by ``Accept`` (the response
then says ``Vary: Accept`` and names the exact document in ``Content-Location``) or by a
suffix (``/id/X.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.html``). Every response lists
the alternatives in a ``Link`` header. An IRI the graph does not mention is a 404.

The name is never used as a file path nor pasted into a query: it becomes one
``NamedNode`` looked up with ``quads_for_pattern``, after a whitelist of characters.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from kg.namespaces import DK, ID, PROV
from kg.store import Store
from kg.web.pages import (
    HTML,
    INFERRED,
    RDF_TYPE,
    RDFS_LABEL,
    SKOS_PREFLABEL,
    TEMPLATES,
    Labels,
    Representation,
    Term,
    negotiate,
    not_acceptable,
    pick,
    rdf_response,
    secure,
    serialize_triples,
    split_suffix,
    store,
    term,
    with_negotiation_headers,
)

bp = Blueprint("resources", __name__, template_folder=TEMPLATES)
bp.after_request(secure)

NAME = re.compile(r"^[\w\-~][\w.\-~/:,+()]*$")
"""The characters an instance name may have after ``/id/`` (no ``..`` segment either)."""

MAX_INCOMING = 300
MAX_FIGURES = 100

OBSERVATION = str(DK.Observation)
_FIRST = (RDF_TYPE, RDFS_LABEL, SKOS_PREFLABEL)


def valid_name(name: str) -> bool:
    return bool(NAME.match(name)) and ".." not in name.split("/") and "//" not in name


def _exists(db: Store, node: ox.NamedNode) -> bool:
    return (next(iter(db.quads_for_pattern(node, None, None, None)), None) is not None
            or next(iter(db.quads_for_pattern(None, None, node, None)), None) is not None)


@dataclass
class Value:
    term: Term
    inferred: bool


@dataclass
class Statement:
    predicate: Term
    values: list[Value] = field(default_factory=list)


@dataclass
class Figure:
    """A reported figure: value with unit and approximation, the source's own words."""

    href: str | None
    label: str
    value: str
    unit: Term | None
    approximation: Term | None
    source_value: str | None
    quotes: list[Term]
    sources: list[Term]


@dataclass
class Description:
    iri: str
    name: str
    labels: dict[str, str]
    types: list[Value]
    outgoing: list[Statement]
    incoming: list[Statement]
    incoming_total: int
    incoming_shown: int
    figures: list[Figure]
    triples: list[ox.Triple]


def _group(quads: list[ox.Quad], key: str, labels: Labels, db: Store,
           expand_bnodes: bool) -> list[Statement]:
    """Statements grouped by predicate; ``key`` is the position shown as the value."""
    graphs: dict[tuple[str, str], set[str]] = defaultdict(set)
    nodes: dict[str, object] = {}
    preds: dict[str, ox.NamedNode] = {}
    for q in quads:
        node = q.object if key == "object" else q.subject
        pk, nk = q.predicate.value, str(node)
        preds[pk] = q.predicate
        nodes[nk] = node
        g = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        graphs[(pk, nk)].add(g)
    by_pred: dict[str, Statement] = {}
    for (pk, nk), gs in graphs.items():
        st = by_pred.setdefault(pk, Statement(term(preds[pk], labels)))
        t = term(nodes[nk], labels)
        if expand_bnodes and isinstance(nodes[nk], ox.BlankNode):
            t.children = [
                (term(c.predicate, labels), term(c.object, labels))
                for c in db.quads_for_pattern(nodes[nk], None, None, None)]
        st.values.append(Value(t, gs == {INFERRED}))
    for st in by_pred.values():
        st.values.sort(key=lambda v: (v.inferred, v.term.lang or "", v.term.text))
    return sorted(by_pred.values(), key=lambda s: (
        _FIRST.index(s.predicate.value) if s.predicate.value in _FIRST else len(_FIRST),
        s.predicate.text.lower()))


def _number(text: str) -> str:
    try:
        d = Decimal(text)
    except InvalidOperation:
        return text
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d:,f}"


def _figure(db: Store, node: ox.NamedNode, labels: Labels) -> Figure:
    def one(pred: str) -> object | None:
        for q in db.quads_for_pattern(node, ox.NamedNode(pred), None, None):
            return q.object
        return None

    def all_(pred: str) -> list[object]:
        return [q.object for q in db.quads_for_pattern(node, ox.NamedNode(pred), None, None)]

    value = one(str(DK.value))
    unit = one(str(DK.unit))
    approx = one(str(DK.approximation))
    source_value = one(str(DK.sourceValue))
    t = term(node, labels)
    return Figure(
        href=t.href, label=t.text,
        value=_number(value.value) if isinstance(value, ox.Literal) else "",
        unit=term(unit, labels) if unit is not None else None,
        approximation=term(approx, labels) if approx is not None else None,
        source_value=source_value.value if isinstance(source_value, ox.Literal) else None,
        quotes=[term(o, labels) for o in all_(str(DK.quote))],
        sources=[term(o, labels) for o in all_(str(PROV.wasDerivedFrom))],
    )


def describe(name: str) -> Description | None:
    """Everything the graph says about ``dkid:name`` and everything pointing to it."""
    s = store()
    db = s
    iri = str(ID) + name
    node = ox.NamedNode(iri)
    if not _exists(db, node):
        return None
    labels = Labels(s)
    out_quads = list(db.quads_for_pattern(node, None, None, None))
    in_quads = []
    incoming_total = 0
    seen_subjects: set[str] = set()
    for q in db.quads_for_pattern(None, None, node, None):
        incoming_total += 1
        if len(seen_subjects) < MAX_INCOMING or str(q.subject) in seen_subjects:
            seen_subjects.add(str(q.subject))
            in_quads.append(q)
    type_quads = [q for q in out_quads if q.predicate.value == RDF_TYPE]
    other_out = [q for q in out_quads if q.predicate.value != RDF_TYPE]
    types = _group(type_quads, "object", labels, db, False)
    outgoing = _group(other_out, "object", labels, db, True)
    incoming = _group(in_quads, "subject", labels, db, False)

    observation = ox.NamedNode(OBSERVATION)
    rdf_type = ox.NamedNode(RDF_TYPE)
    figure_nodes: list[ox.NamedNode] = []
    if any(q.object == observation for q in type_quads):
        figure_nodes.append(node)
    for subject in sorted({q.subject for q in in_quads if isinstance(q.subject, ox.NamedNode)},
                          key=str):
        if len(figure_nodes) >= MAX_FIGURES:
            break
        if next(iter(db.quads_for_pattern(subject, rdf_type, observation, None)), None):
            figure_nodes.append(subject)
    figures = [_figure(db, n, labels) for n in figure_nodes]

    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in out_quads + in_quads}
    for q in out_quads:  # the blank nodes a description needs to be complete
        if isinstance(q.object, ox.BlankNode):
            triples.update(ox.Triple(c.subject, c.predicate, c.object)
                           for c in db.quads_for_pattern(q.object, None, None, None))
    return Description(
        iri=iri, name=name, labels=labels.of(iri),
        types=types[0].values if types else [],
        outgoing=outgoing, incoming=incoming, incoming_total=incoming_total,
        incoming_shown=len(in_quads),
        figures=figures, triples=sorted(triples, key=str))


def not_found(name: str, rep: Representation | None) -> Response:
    if rep is HTML or rep is None:
        body = render_template("not_found.html", iri=str(ID) + name, path=request.path)
        return Response(body, status=404, mimetype="text/html")
    return Response(f"404 Not Found: the graph says nothing about {ID}{name}\n", status=404,
                    mimetype="text/plain")


@bp.route("/id/<path:name>", methods=["GET", "HEAD"])
def resource(name: str) -> Response:
    if not valid_name(name):
        return not_found("", negotiate(request.headers.get("Accept")))
    desc = describe(name)
    rep: Representation | None = None
    negotiated = False
    if desc is None:
        stem, rep = split_suffix(name)
        if rep is not None and valid_name(stem):
            desc = describe(stem)
            name = stem
        if desc is None:
            return not_found(name, rep or negotiate(request.headers.get("Accept")))
    if rep is None:
        negotiated = True
        rep = negotiate(request.headers.get("Accept"))
    path = "/id/" + name
    if rep is None:
        return with_negotiation_headers(not_acceptable(), path, rep, negotiated,
                                        canonical=desc.iri)
    if rep is HTML:
        title = pick(desc.labels, "zh") or pick(desc.labels, "en") or desc.name
        resp = Response(render_template("resource.html", d=desc, title=title, path=path),
                        mimetype="text/html")
    else:
        resp = rdf_response(serialize_triples(desc.triples, rep), rep,
                            filename=name.replace("/", "-") + "." + rep.suffix)
    return with_negotiation_headers(resp, path, rep, negotiated, canonical=desc.iri)
