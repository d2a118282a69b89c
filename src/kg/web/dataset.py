"""``/void`` (a VoID and DCAT description of the dataset) and ``/download/`` (the dumps).

The description is computed from the store, once per store generation: triples per named
graph, classes and properties used, the sources the facts were derived from, the SPARQL
endpoint, the dumps and the linksets to external datasets (links whose object lies outside
``https://w3id.org/duikou/``, grouped by link predicate and target namespace). The
dataset's IRI is ``https://w3id.org/duikou/void#dataset``, so it resolves to this document.

Dumps are written by :func:`kg.export.export` (deterministic, sorted) into a per-generation
cache folder on first request, and served with ``Content-Disposition: attachment``:
``duikou.ttl``, ``duikou.nt``, ``duikou.jsonld`` (all graphs merged), ``duikou.nq`` and
``duikou.trig`` (named graphs kept), each also as ``NAME.gz``; a plain name requested with
``Accept-Encoding: gzip`` is sent gzip-encoded. Only those names exist: the URL never
becomes a path.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, abort, render_template, request, send_file

from kg.export import export
from kg.namespaces import BASE, ONTOLOGY_IRI, PREFIXES, Graphs
from kg.store import Store
from kg.web.pages import (
    HTML,
    TEMPLATES,
    Labels,
    cached,
    local_href,
    not_acceptable,
    rdf_response,
    representation_for,
    secure,
    serialize_triples,
    shorten,
    store,
    with_negotiation_headers,
)

bp = Blueprint("dataset", __name__, template_folder=TEMPLATES)
bp.after_request(secure)

VOID_DOC = BASE + "void"
DATASET = VOID_DOC + "#dataset"
SERVICE = VOID_DOC + "#sparql-service"

V = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
FOAF = "http://xmlns.com/foaf/0.1/"
SD = "http://www.w3.org/ns/sparql-service-description#"
PROV = "http://www.w3.org/ns/prov#"
DK = BASE + "ontology#"


@dataclass(frozen=True)
class Dump:
    name: str
    fmt: str
    selection: str
    media_type: str
    title: str


DUMPS = (
    Dump("duikou.ttl", "turtle", "all", "text/turtle", "Turtle（所有图合并 all graphs merged）"),
    Dump("duikou.nt", "nt", "all", "application/n-triples",
         "N-Triples（所有图合并 all graphs merged）"),
    Dump("duikou.jsonld", "jsonld", "all", "application/ld+json",
         "JSON-LD（所有图合并 all graphs merged）"),
    Dump("duikou.nq", "nq", "all", "application/n-quads",
         "N-Quads（保留命名图 named graphs kept）"),
    Dump("duikou.trig", "trig", "all", "application/trig", "TriG（保留命名图 named graphs kept）"),
)
DUMPS_BY_NAME = {d.name: d for d in DUMPS}
_LOCK = threading.Lock()

CLASSES_QUERY = """SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c"""
PROPERTIES_QUERY = """SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p"""
SOURCES_QUERY = f"""SELECT DISTINCT ?doc WHERE {{
  {{ ?doc a <{DK}SourceDocument> }} UNION {{ ?x <{PROV}wasDerivedFrom> ?doc }}
  FILTER(isIRI(?doc))
}} ORDER BY ?doc"""
LINKS_QUERY = f"""SELECT ?p ?o WHERE {{ GRAPH <{Graphs.LINKS}> {{ ?s ?p ?o FILTER(isIRI(?o)
  && !STRSTARTS(STR(?o), "{BASE}")) }} }}"""
ENTITIES_QUERY = f"""SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o
  FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}id/")) }}"""
DATASETS_QUERY = f"""SELECT DISTINCT ?d ?type WHERE {{ GRAPH ?g {{ ?d a ?type }}
  VALUES ?type {{ <{V}Dataset> <{V}Linkset> }}
  FILTER(?g != <{Graphs.INFERRED}>) }} ORDER BY ?d"""
EXAMPLE_QUERY = f"""SELECT ?s WHERE {{ ?s a <{DK}AdministrativeDivision> }} ORDER BY ?s LIMIT 3"""


def _n(row: ox.QuerySolution, var: str) -> int:
    return int(row[var].value)


def _target_namespace(iri: str) -> str:
    """The namespace an external IRI belongs to: a known prefix's, else scheme and host."""
    best = ""
    for ns in PREFIXES.values():
        if iri.startswith(ns) and len(ns) > len(best):
            best = ns
    if best:
        return best
    scheme, _, rest = iri.partition("://")
    return f"{scheme}://{rest.split('/')[0]}/"


def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _lit(value: object, datatype: str | None = None, lang: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(str(value), language=lang)
    if datatype:
        return ox.Literal(str(value), datatype=ox.NamedNode(datatype))
    return ox.Literal(str(value))


def describe_dataset(s: Store, root: str) -> dict:
    """The dataset description: the facts for the page and the VoID/DCAT triples.

    ``root`` is this server's base URL (``http://host:port/``) for the endpoint and dumps.
    """
    counts = s.counts()
    total = sum(counts.values())
    classes = [(r["c"].value, _n(r, "n")) for r in s.query(CLASSES_QUERY)
               if isinstance(r["c"], ox.NamedNode)]
    properties = [(r["p"].value, _n(r, "n")) for r in s.query(PROPERTIES_QUERY)]
    sources = [r["doc"].value for r in s.query(SOURCES_QUERY)]
    entities = next(iter(s.query(ENTITIES_QUERY)))
    linksets: dict[tuple[str, str], int] = {}
    for r in s.query(LINKS_QUERY):
        key = (r["p"].value, _target_namespace(r["o"].value))
        linksets[key] = linksets.get(key, 0) + 1
    declared = [(r["d"].value, r["type"].value) for r in s.query(DATASETS_QUERY)]
    examples = [r["s"].value for r in s.query(EXAMPLE_QUERY)]

    labels = Labels(s)
    onto = ox.NamedNode(str(ONTOLOGY_IRI))

    def onto_values(pred: str) -> list:
        return [q.object for q in s.quads_for_pattern(onto, _nn(pred), None, None)]

    licences = [o for o in onto_values(DCT + "license") if isinstance(o, ox.NamedNode)]
    publishers = onto_values(DCT + "publisher") or onto_values(DCT + "creator")

    t: list[ox.Triple] = []
    d = _nn(DATASET)

    def add(sub: ox.NamedNode | ox.BlankNode, pred: str, obj: object) -> None:
        t.append(ox.Triple(sub, _nn(pred), obj))

    add(d, RDF + "type", _nn(V + "Dataset"))
    add(d, RDF + "type", _nn(DCAT + "Dataset"))
    add(d, DCT + "title", _lit("对口帮扶知识图谱", lang="zh"))
    add(d, DCT + "title", _lit("Duikou KG: China's east–west paired assistance", lang="en"))
    add(d, DCT + "description", _lit(
        "东西部扶贫协作与对口帮扶的知识图谱：行政区划、结对关系及其接续、贫困县摘帽、"
        "统计数字（保留原文表述）及其来源。", lang="zh"))
    add(d, DCT + "description", _lit(
        "A knowledge graph of China's east–west paired assistance: administrative divisions, "
        "pairings and their hand-overs, poverty-county exits, reported figures with their "
        "exact source wording, and the provenance of every fact.", lang="en"))
    for lic in licences:
        add(d, DCT + "license", lic)
    for pub in publishers:
        add(d, DCT + "publisher", pub)
    for src in sources:
        add(d, DCT + "source", _nn(src))
    add(d, DCT + "modified", _lit(s.info.built_at, XSD + "dateTime")
        if "T" in s.info.built_at else _lit(s.info.built_at))
    add(d, V + "uriSpace", _lit(BASE + "id/"))
    add(d, V + "triples", _lit(total, XSD + "integer"))
    add(d, V + "entities", _lit(_n(entities, "n"), XSD + "integer"))
    add(d, V + "classes", _lit(len(classes), XSD + "integer"))
    add(d, V + "properties", _lit(len(properties), XSD + "integer"))
    add(d, V + "sparqlEndpoint", _nn(root + "sparql"))
    add(d, V + "rootResource", onto)
    for ex in examples:
        add(d, V + "exampleResource", _nn(ex))
    used_vocabularies = sorted({_target_namespace(p) for p, _ in properties}
                               & set(PREFIXES.values()))
    for ns in used_vocabularies:
        add(d, V + "vocabulary", _nn(ns))
    add(d, DCAT + "landingPage", _nn(root))
    for graph, n in counts.items():
        g = _nn(graph)
        add(d, V + "subset", g)
        add(g, RDF + "type", _nn(V + "Dataset"))
        add(g, RDF + "type", _nn(SD + "NamedGraph"))
        add(g, SD + "name", g)
        add(g, V + "triples", _lit(n, XSD + "integer"))
        add(g, RDFS + "label", _lit(graph.rsplit("/", 1)[-1], lang="en"))
    for i, (c, n) in enumerate(classes):
        part = _nn(f"{VOID_DOC}#class-{i + 1}")
        add(d, V + "classPartition", part)
        add(part, V + "class", _nn(c))
        add(part, V + "entities", _lit(n, XSD + "integer"))
    for i, (p, n) in enumerate(properties):
        part = _nn(f"{VOID_DOC}#property-{i + 1}")
        add(d, V + "propertyPartition", part)
        add(part, V + "property", _nn(p))
        add(part, V + "triples", _lit(n, XSD + "integer"))
    for dump in DUMPS:
        for gz in (False, True):
            name = dump.name + (".gz" if gz else "")
            url = _nn(f"{root}download/{name}")
            dist = _nn(f"{VOID_DOC}#dump-{name}")
            add(d, V + "dataDump", url)
            add(d, DCAT + "distribution", dist)
            add(dist, RDF + "type", _nn(DCAT + "Distribution"))
            add(dist, DCAT + "downloadURL", url)
            add(dist, DCAT + "mediaType", _nn(
                "https://www.iana.org/assignments/media-types/" + dump.media_type))
            if gz:
                add(dist, DCAT + "compressFormat", _nn(
                    "https://www.iana.org/assignments/media-types/application/gzip"))
            add(dist, DCT + "title", _lit(name))
            for lic in licences:
                add(dist, DCT + "license", lic)
    service = _nn(SERVICE)
    add(d, DCAT + "distribution", _nn(f"{VOID_DOC}#sparql-distribution"))
    add(_nn(f"{VOID_DOC}#sparql-distribution"), RDF + "type", _nn(DCAT + "Distribution"))
    add(_nn(f"{VOID_DOC}#sparql-distribution"), DCAT + "accessService", service)
    add(_nn(f"{VOID_DOC}#sparql-distribution"), DCAT + "accessURL", _nn(root + "sparql"))
    add(service, RDF + "type", _nn(DCAT + "DataService"))
    add(service, DCAT + "endpointURL", _nn(root + "sparql"))
    add(service, DCT + "conformsTo", _nn("https://www.w3.org/TR/sparql11-protocol/"))
    add(service, DCAT + "servesDataset", d)
    linkset_rows = []
    for i, ((pred, target), n) in enumerate(sorted(linksets.items())):
        ls = _nn(f"{VOID_DOC}#linkset-{i + 1}")
        add(d, V + "subset", ls)
        add(ls, RDF + "type", _nn(V + "Linkset"))
        add(ls, V + "subjectsTarget", d)
        add(ls, V + "objectsTarget", _nn(target))
        add(ls, V + "linkPredicate", _nn(pred))
        add(ls, V + "triples", _lit(n, XSD + "integer"))
        add(_nn(target), RDF + "type", _nn(V + "Dataset"))
        add(_nn(target), V + "uriSpace", _lit(target))
        linkset_rows.append({"predicate": shorten(pred), "target": target, "triples": n})
    for iri, _type in declared:  # datasets and linksets the data describes itself
        add(d, V + "subset", _nn(iri))

    page = {
        "title_zh": "对口帮扶知识图谱", "title_en": "Duikou KG",
        "total": total, "build": s.info.build_id, "built_at": s.info.built_at,
        "graphs": [{"iri": g, "name": g.rsplit("/", 1)[-1], "triples": n}
                   for g, n in counts.items()],
        "classes": [{"iri": c, "text": labels.text(c), "href": local_href(c) or c,
                     "curie": shorten(c), "n": n} for c, n in classes],
        "properties": [{"iri": p, "text": labels.text(p), "href": local_href(p) or p,
                        "curie": shorten(p), "n": n} for p, n in properties],
        "sources": [{"iri": x, "text": labels.text(x), "href": local_href(x) or x}
                    for x in sources],
        "declared": [{"iri": x, "text": labels.text(x), "href": local_href(x) or x,
                      "type": shorten(ty)} for x, ty in declared],
        "licences": [lic.value for lic in licences],
        "publishers": [labels.text(p.value) if isinstance(p, ox.NamedNode) else p.value
                       for p in publishers],
        "linksets": linkset_rows,
        "dumps": DUMPS,
        "endpoint": root + "sparql",
        "entities": _n(entities, "n"),
    }
    return {"page": page, "triples": t}


def _root() -> str:
    return request.host_url


def _void(suffix: str | None) -> Response:
    rep, negotiated = representation_for(suffix)
    root = _root()
    if rep is None:
        resp = not_acceptable()
    else:
        s = store()
        desc = cached("void:" + root, lambda: describe_dataset(s, root))
        if rep is HTML:
            resp = Response(render_template("void.html", title="数据集 Dataset", **desc["page"]),
                            mimetype="text/html")
        else:
            resp = rdf_response(serialize_triples(desc["triples"], rep), rep,
                                filename=f"void.{rep.suffix}")
    return with_negotiation_headers(resp, "/void", rep, negotiated, canonical=VOID_DOC)


@bp.get("/void")
def void() -> Response:
    return _void(None)


@bp.get("/void.<suffix>")
def void_as(suffix: str) -> Response:
    return _void(suffix)


@bp.get("/.well-known/void")
def well_known_void() -> Response:
    return _void(None)


# --- downloads ----------------------------------------------------------------------------

def _cache_dir(s: Store) -> Path:
    root = Path(tempfile.gettempdir()) / f"kg-downloads-{os.getuid()}"
    return root / s.info.build_id


def _prune(folder: Path) -> None:
    """Remove the dumps of other generations (they are rebuilt on demand)."""
    for old in folder.parent.iterdir():
        if old != folder and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def dump_file(s: Store, dump: Dump, *, gz: bool) -> Path:
    """The dump's file for the store's current generation, written on first use."""
    folder = _cache_dir(s)
    plain = folder / dump.name
    target = folder / (dump.name + ".gz") if gz else plain
    if target.exists():
        return target
    with _LOCK:
        if target.exists():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        _prune(folder)
        if not plain.exists():
            tmp = folder / f".{dump.name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as out:
                export(s, dump.selection, dump.fmt, out)
            os.replace(tmp, plain)
        if gz and not target.exists():
            tmp = folder / f".{dump.name}.gz.{os.getpid()}.tmp"
            with open(plain, "rb") as src, open(tmp, "wb") as raw, \
                    gzip.GzipFile(filename=dump.name, mode="wb", fileobj=raw, mtime=0) as zf:
                shutil.copyfileobj(src, zf)
            os.replace(tmp, target)
    return target


def _accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:] or 0) > 0
            except ValueError:  # a malformed q-value counts as q=0, as in parse_accept
                return False
    return False


@bp.get("/download/")
def downloads() -> Response:
    s = store()
    return Response(render_template("downloads.html", title="下载 Downloads", dumps=DUMPS,
                                    build=s.info.build_id, built_at=s.info.built_at,
                                    counts=s.counts()), mimetype="text/html")


@bp.get("/download")
def downloads_redirect() -> Response:
    return Response(status=308, headers={"Location": "/download/"})


@bp.get("/download/<name>")
def download(name: str) -> Response:
    gz_file = name.endswith(".gz")
    dump = DUMPS_BY_NAME.get(name[:-3] if gz_file else name)
    if dump is None:
        abort(404)
    s = store()
    if gz_file:
        path = dump_file(s, dump, gz=True)
        resp = send_file(path, mimetype="application/gzip", as_attachment=True,
                         download_name=name, conditional=True, etag=True)
    elif _accepts_gzip():
        path = dump_file(s, dump, gz=True)
        resp = send_file(path, mimetype=dump.media_type, as_attachment=True,
                         download_name=dump.name, conditional=True, etag=True)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        path = dump_file(s, dump, gz=False)
        resp = send_file(path, mimetype=dump.media_type, as_attachment=True,
                         download_name=dump.name, conditional=True, etag=True)
    if dump.media_type.startswith("text/") and not gz_file:
        resp.headers["Content-Type"] = dump.media_type + "; charset=utf-8"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["X-KG-Build"] = s.info.build_id
    return resp
