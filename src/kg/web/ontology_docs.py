"""``/ontology``: the ontology's documentation, and the ontology itself by content negotiation.

The page is generated from the ontology graph of the store (``…/graph/ontology``, built
from ``ontology/*.ttl``), once per store generation: classes, properties and named
individuals of the ``dk:`` namespace with their labels and definitions in Chinese and
English, domains, ranges, super- and sub-terms, inverses, property chains and
characteristics, and every other statement about the term. Each term has the anchor of
its local name, so ``https://w3id.org/duikou/ontology#Pairing`` resolves to
``/ontology#Pairing``.

pyLODE 3.3.4 was tried (it installs and runs on Python 3.11): it leaves out
``owl:inverseOf``, ``owl:propertyChainAxiom`` and property characteristics, runs the two
labels of a term together ("Pairing结对帮扶关系") and needs an inline stylesheet; the
template here shows all of those. ``Accept: text/turtle`` (or ``/ontology.ttl``),
``application/rdf+xml`` (``.rdf``), ``application/ld+json`` (``.jsonld``) and
``application/n-triples`` (``.nt``) return the ontology graph itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, render_template
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.namespaces import DK, ONTOLOGY_IRI, PREFIXES, Graphs
from kg.terms import to_rdflib
from kg.web.pages import (
    HTML,
    TEMPLATES,
    cached,
    not_acceptable,
    rdf_response,
    representation_for,
    secure,
    serialize_triples,
    shorten,
    store,
    with_negotiation_headers,
)

bp = Blueprint("ontology_docs", __name__, template_folder=TEMPLATES)
bp.after_request(secure)

DCTERMS = "http://purl.org/dc/terms/"
DEFINITIONS = (SKOS.definition, RDFS.comment, URIRef(DCTERMS + "description"))
CHARACTERISTICS = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty,
                   OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.AsymmetricProperty,
                   OWL.ReflexiveProperty, OWL.IrreflexiveProperty)
KINDS = (
    ("classes", "类 Classes", (OWL.Class, RDFS.Class)),
    ("object-properties", "对象属性 Object properties", (OWL.ObjectProperty,)),
    ("datatype-properties", "数据属性 Datatype properties", (OWL.DatatypeProperty,)),
    ("annotation-properties", "注释属性 Annotation properties", (OWL.AnnotationProperty,)),
    ("properties", "其他属性 Other properties", (RDF.Property,)),
)
SHOWN = {RDF.type, RDFS.label, SKOS.prefLabel, *DEFINITIONS, RDFS.subClassOf, RDFS.domain,
         RDFS.range, RDFS.subPropertyOf, OWL.inverseOf, OWL.propertyChainAxiom,
         OWL.equivalentClass, OWL.disjointWith, OWL.equivalentProperty, RDFS.isDefinedBy}


@dataclass
class Ref:
    """A link to a term: this page's anchor for ours, the IRI for others."""

    text: str
    href: str | None
    iri: str
    external: bool = False


@dataclass
class Row:
    label: str
    values: list


@dataclass
class Doc:
    iri: str
    anchor: str
    curie: str
    label_zh: str | None
    label_en: str | None
    definitions: list[tuple[str | None, str]]
    kinds: list[str]
    rows: list[Row] = field(default_factory=list)


def _lang(g: Graph, s: URIRef, preds: tuple, lang: str) -> str | None:
    for p in preds:
        for o in g.objects(s, p):
            if isinstance(o, Literal) and (o.language or "").split("-")[0] == lang:
                return str(o)
    return None


class Builder:
    def __init__(self, g: Graph) -> None:
        self.g = g

    def ref(self, node: object) -> object:
        g = self.g
        if isinstance(node, URIRef):
            iri = str(node)
            if iri.startswith(str(DK)):
                name = iri[len(str(DK)):]
                return Ref(self.label(node) or "dk:" + name, "#" + name, iri)
            if iri == str(ONTOLOGY_IRI):
                return Ref("本体 ontology", "#ontology", iri)
            return Ref(shorten(iri), iri, iri, external=iri.startswith(("http://", "https://")))
        if isinstance(node, BNode):
            first = g.value(node, RDF.first)
            if first is not None or node == RDF.nil:
                items = [self.ref(x) for x in Collection(g, node)]
                return {"list": items}
            for p in (OWL.unionOf, OWL.intersectionOf):
                members = g.value(node, p)
                if members is not None:
                    word = "或 or" if p == OWL.unionOf else "且 and"
                    return {"set": [self.ref(x) for x in Collection(g, members)], "op": word}
            restriction = [(self.ref(p), self.ref(o)) for p, o in g.predicate_objects(node)
                           if p != RDF.type]
            return {"restriction": restriction}
        if isinstance(node, Literal):
            return {"literal": str(node), "lang": node.language,
                    "datatype": shorten(str(node.datatype)) if node.datatype else None}
        return {"literal": str(node), "lang": None, "datatype": None}

    def label(self, s: URIRef) -> str | None:
        zh = _lang(self.g, s, (RDFS.label, SKOS.prefLabel), "zh")
        en = _lang(self.g, s, (RDFS.label, SKOS.prefLabel), "en")
        parts = [x for x in (zh, en) if x]
        return " · ".join(parts) if parts else None

    def doc(self, s: URIRef, kinds: list[str]) -> Doc:
        g = self.g
        iri = str(s)
        name = iri[len(str(DK)):]
        definitions = []
        for p in DEFINITIONS:
            for o in g.objects(s, p):
                if isinstance(o, Literal):
                    definitions.append((o.language, str(o)))
        definitions.sort(key=lambda d: {"zh": 0, "en": 1}.get((d[0] or "").split("-")[0], 2))
        d = Doc(iri=iri, anchor=name, curie="dk:" + name,
                label_zh=_lang(g, s, (RDFS.label, SKOS.prefLabel), "zh"),
                label_en=_lang(g, s, (RDFS.label, SKOS.prefLabel), "en"),
                definitions=definitions, kinds=kinds)

        def add(label: str, values: list) -> None:
            if values:
                d.rows.append(Row(label, values))

        def refs(p: URIRef, *, inverse: bool = False) -> list:
            nodes = g.subjects(p, s) if inverse else g.objects(s, p)
            return sorted((self.ref(o) for o in nodes), key=_sort_key)

        types = [t for t in g.objects(s, RDF.type)]
        chars = [self.ref(t) for t in types if t in CHARACTERISTICS]
        others = [self.ref(t) for t in types
                  if t not in CHARACTERISTICS and t not in _KIND_TYPES]
        add("类型 Type", others)
        add("特性 Characteristics", chars)
        add("父类 Subclass of", refs(RDFS.subClassOf))
        add("子类 Subclasses", refs(RDFS.subClassOf, inverse=True))
        add("等价类 Equivalent to", refs(OWL.equivalentClass))
        add("不相交 Disjoint with", refs(OWL.disjointWith))
        add("定义域 Domain", refs(RDFS.domain))
        add("值域 Range", refs(RDFS.range))
        add("父属性 Subproperty of", refs(RDFS.subPropertyOf))
        add("子属性 Subproperties", refs(RDFS.subPropertyOf, inverse=True))
        add("等价属性 Equivalent property", refs(OWL.equivalentProperty))
        inverses = {str(o): o for o in g.objects(s, OWL.inverseOf)}
        inverses.update({str(o): o for o in g.subjects(OWL.inverseOf, s)})
        add("逆属性 Inverse of", sorted((self.ref(o) for o in inverses.values()), key=_sort_key))
        add("属性链 Property chain", [self.ref(o) for o in g.objects(s, OWL.propertyChainAxiom)])
        add("用作定义域 Domain of", refs(RDFS.domain, inverse=True))
        add("用作值域 Range of", refs(RDFS.range, inverse=True))
        add("实例 Instances", [self.ref(x) for x in sorted(g.subjects(RDF.type, s), key=str)
                             if isinstance(x, URIRef)])
        for p in sorted({p for p in g.predicates(s, None) if p not in SHOWN}, key=str):
            add(self.ref(p).text, sorted((self.ref(o) for o in g.objects(s, p)), key=_sort_key))
        return d


_KIND_TYPES = {t for _k, _t, types in KINDS for t in types} | {OWL.NamedIndividual}


def _sort_key(v: object) -> str:
    if isinstance(v, Ref):
        return v.text
    return str(v)


def ontology_graph() -> Graph:
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)
    for q in store().quads([str(Graphs.ONTOLOGY)]):
        g.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return g


def build_page() -> dict:
    g = ontology_graph()
    b = Builder(g)
    header = {
        "iri": str(ONTOLOGY_IRI),
        "title_zh": _lang(g, ONTOLOGY_IRI, (URIRef(DCTERMS + "title"), RDFS.label), "zh"),
        "title_en": _lang(g, ONTOLOGY_IRI, (URIRef(DCTERMS + "title"), RDFS.label), "en"),
        "description_zh": _lang(g, ONTOLOGY_IRI, DEFINITIONS, "zh"),
        "description_en": _lang(g, ONTOLOGY_IRI, DEFINITIONS, "en"),
        "rows": [],
    }
    for p in sorted({p for p in g.predicates(ONTOLOGY_IRI, None)}, key=str):
        if p in (URIRef(DCTERMS + "title"), *DEFINITIONS, RDF.type):
            continue
        header["rows"].append(Row(b.ref(p).text, sorted(
            (b.ref(o) for o in g.objects(ONTOLOGY_IRI, p)), key=_sort_key)))
    terms = sorted({s for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(
        str(DK)) and str(s) != str(DK)}, key=str)
    sections: list[dict] = []
    placed: set[URIRef] = set()
    for key, title, types in KINDS:
        docs = []
        for s in terms:
            if s in placed:
                continue
            kinds = [t for t in types if (s, RDF.type, t) in g]
            if kinds:
                placed.add(s)
                docs.append(b.doc(s, [shorten(str(t)) for t in kinds]))
        sections.append({"key": key, "title": title, "docs": docs})
    individuals = [b.doc(s, ["individual"]) for s in terms if s not in placed]
    sections.append({"key": "individuals", "title": "个体与概念 Individuals and concepts",
                     "docs": individuals})
    return {"header": header, "sections": [s for s in sections if s["docs"]],
            "triples": len(g)}


def ontology_triples() -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object)
            for q in store().quads([str(Graphs.ONTOLOGY)])]


def _answer(rep_suffix: str | None) -> Response:
    rep, negotiated = representation_for(rep_suffix)
    if rep is None:
        resp = not_acceptable()
    elif rep is HTML:
        page = cached("ontology-page", build_page)
        resp = Response(render_template("ontology.html", title="本体 Ontology", **page),
                        mimetype="text/html")
    else:
        body = cached(f"ontology-{rep.name}",
                      lambda: serialize_triples(ontology_triples(), rep))
        resp = rdf_response(body, rep, filename=f"duikou.{rep.suffix}")
    return with_negotiation_headers(resp, "/ontology", rep, negotiated,
                                    canonical=str(ONTOLOGY_IRI))


@bp.get("/ontology")
def ontology() -> Response:
    return _answer(None)


@bp.get("/ontology.<suffix>")
def ontology_as(suffix: str) -> Response:
    return _answer(suffix)
