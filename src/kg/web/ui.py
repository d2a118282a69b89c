"""``/``: the query page (YASGUI, served from this package) and the picture of the pairings.

- ``/`` — YASGUI editor and result views, querying this server's ``/sparql``; every
  competency question of ``queries/`` offered as a named example that opens in a tab.
- ``/queries.json`` (the examples as JSON) and ``/queries/NAME.rq`` (each query's file).
- ``/prefixes.json`` — the project's prefixes, for YASGUI's prefix autocompleter (instead
  of prefix.cc, so that the page never calls another origin).
- ``/network`` — the pairing network drawn as SVG in the browser from ``/network.json``,
  which runs SPARQL queries over the graph (nothing in the picture is hard-coded).
- ``/assets/…`` — the vendored YASGUI build, the background map, the pages' CSS and JS.

The queries folder is ``current_app.config["KG_QUERIES_DIR"]`` (default ``queries``); it is
read again whenever one of its files changes, so a new question shows without a restart.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, url_for

from kg.namespaces import PREFIXES
from kg.web.pages import (
    STATIC,
    TEMPLATES,
    Labels,
    content_security_policy,
    local_href,
    pick,
    secure,
    store,
)

bp = Blueprint("ui", __name__, template_folder=TEMPLATES, static_folder=STATIC,
               static_url_path="/assets")
bp.after_request(secure)

QUERY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$")
_HEADER = re.compile(r"^#\s*(title|description)(@zh)?\s*:\s*(.*)$", re.IGNORECASE)
_PREFIX_DECL = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)
_IRI_OR_STRING = re.compile(r"<[^<>\s]*>|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|#[^\n]*")

YASGUI_STYLE_HASHES = ("sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk=",)
"""The one ``<style>`` element the YASGUI 4.6.2 bundle inserts, allowed by its hash (measured
by the browser tests, which fail on any CSP breach); the query page needs nothing else."""

DEFAULT_PREFIXES = ("dk", "dkid", "div", "rdf", "rdfs", "owl", "xsd", "skos", "dcterms",
                    "prov", "qb", "wgs", "wd")
"""The prefixes declared in a new tab's query (all of them are offered by autocompletion)."""

DEFAULT_QUERY_BODY = """
# 结对关系：帮扶方与受帮扶方 — pairings: who assists whom
SELECT ?pairing ?assistant ?recipient ?start ?end WHERE {
  ?pairing a dk:Pairing ; dk:assistant ?a ; dk:recipient ?r .
  ?a rdfs:label ?assistant . FILTER(lang(?assistant) = "zh")
  ?r rdfs:label ?recipient . FILTER(lang(?recipient) = "zh")
  OPTIONAL { ?pairing dk:startYear ?start }
  OPTIONAL { ?pairing dk:endYear ?end }
}
ORDER BY ?start
LIMIT 100
"""


@dataclass(frozen=True)
class StoredQuery:
    """One competency question of ``queries/``."""

    name: str
    title: str
    title_zh: str
    description: str
    description_zh: str
    text: str
    """The file as it is."""
    query: str
    """The file with PREFIX lines added for any project prefix it uses but does not declare."""


def prologue(names: tuple[str, ...] | list[str]) -> str:
    return "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in names)


def with_prefixes(text: str) -> str:
    """``text`` with a PREFIX line for each project prefix it uses without declaring it,
    placed after its leading comment lines."""
    declared = {m.group(1) or "" for m in _PREFIX_DECL.finditer(text)}
    body = _IRI_OR_STRING.sub(" ", text)
    body = _PREFIX_DECL.sub(" ", body)
    used = [p for p in PREFIXES
            if p not in declared and re.search(rf"(?<![\w.:-]){re.escape(p)}:", body)]
    if not used:
        return text
    lines = text.splitlines(keepends=True)
    head = 0
    while head < len(lines) and lines[head].lstrip().startswith("#"):
        head += 1
    return "".join(lines[:head]) + prologue(used) + "".join(lines[head:])


def parse_query_file(path: Path) -> StoredQuery:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        m = _HEADER.match(stripped)
        if m:
            last = m.group(1).lower() + ("_zh" if m.group(2) else "")
            meta[last] = m.group(3).strip()
        elif last and stripped.lstrip("#").strip():
            meta[last] += " " + stripped.lstrip("#").strip()
        else:
            last = None
    name = path.stem
    return StoredQuery(
        name=name,
        title=meta.get("title", name),
        title_zh=meta.get("title_zh", meta.get("title", name)),
        description=meta.get("description", ""),
        description_zh=meta.get("description_zh", ""),
        text=text,
        query=with_prefixes(text),
    )


def queries_dir() -> Path:
    """``app.config["KG_QUERIES_DIR"]``, else the ``KG_QUERIES_DIR`` variable, else ``queries``."""
    return Path(current_app.config.get("KG_QUERIES_DIR")
                or os.environ.get("KG_QUERIES_DIR") or "queries")


def load_queries() -> list[StoredQuery]:
    """The competency questions, re-read when a file of the folder changed."""
    folder = queries_dir()
    files = sorted(p for p in folder.glob("*.rq") if QUERY_NAME.match(p.stem)) \
        if folder.is_dir() else []
    stamp = (str(folder.resolve()) if folder.exists() else str(folder),
             tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    cache = current_app.extensions.get("kg.ui.queries")
    if cache is None or cache[0] != stamp:
        cache = (stamp, [parse_query_file(p) for p in files])
        current_app.extensions["kg.ui.queries"] = cache
    return cache[1]


def default_query() -> str:
    return prologue(DEFAULT_PREFIXES) + DEFAULT_QUERY_BODY


@bp.get("/")
def index() -> Response:
    queries = load_queries()
    config = {
        "endpoint": "/sparql",
        "prefixesUrl": "/prefixes.json",
        "prefixes": PREFIXES,
        "defaultQuery": default_query(),
        "examples": [asdict(q) for q in queries],
    }
    resp = Response(render_template("index.html", title="查询 Query", queries=queries,
                                    config=config), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = content_security_policy(*YASGUI_STYLE_HASHES)
    return resp


@bp.get("/queries.json")
def queries_json() -> Response:
    out = []
    for q in load_queries():
        d = asdict(q)
        d["url"] = f"/queries/{q.name}.rq"
        out.append(d)
    return jsonify(out)


@bp.get("/queries/<name>.rq")
def query_file(name: str) -> Response:
    for q in load_queries():
        if q.name == name:
            resp = Response(q.text, content_type="application/sparql-query; charset=utf-8")
            resp.headers["Content-Disposition"] = f'inline; filename="{q.name}.rq"'
            return resp
    abort(404)


@bp.get("/prefixes.json")
def prefixes_json() -> Response:
    return jsonify(PREFIXES)


# --- the pairing network --------------------------------------------------------------------

_P = prologue(("dk", "rdfs", "wgs", "geo"))

PAIRINGS_QUERY = _P + """
SELECT ?pairing ?assistant ?recipient (MIN(STR(?s)) AS ?start) (MAX(STR(?e)) AS ?end) WHERE {
  ?pairing a dk:Pairing ; dk:assistant ?assistant ; dk:recipient ?recipient .
  OPTIONAL { ?pairing dk:startYear ?s }
  OPTIONAL { ?pairing dk:endYear ?e }
}
GROUP BY ?pairing ?assistant ?recipient
ORDER BY ?pairing ?assistant ?recipient
"""
"""One arrow per row: each pairing, once per assistant–recipient pair it names."""

HANDOVERS_QUERY = _P + """
SELECT DISTINCT ?later ?earlier WHERE {
  { ?later dk:succeeds ?earlier } UNION { ?earlier dk:isSucceededBy ?later }
}
ORDER BY ?later ?earlier
"""

EXITS_QUERY = _P + """
SELECT ?exit ?county (MIN(STR(?d)) AS ?date) (MIN(STR(?y)) AS ?year) WHERE {
  ?exit a dk:PovertyExit ; dk:county ?county .
  OPTIONAL { ?exit dk:date ?d }
  OPTIONAL { ?exit dk:year ?y }
}
GROUP BY ?exit ?county
ORDER BY ?county
"""

POSITIONS_QUERY = _P + """
SELECT ?place (SAMPLE(?la) AS ?lat) (SAMPLE(?lo) AS ?long) (SAMPLE(?w) AS ?wkt) WHERE {
  { ?place wgs:lat ?la ; wgs:long ?lo }
  UNION { ?place geo:hasGeometry/geo:asWKT ?w }
}
GROUP BY ?place
"""

PARENTS_QUERY = _P + """
SELECT ?place ?parent WHERE { ?place dk:partOf ?parent }
"""

_POINT = re.compile(r"POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)", re.IGNORECASE)


def _v(row: ox.QuerySolution, var: str) -> str | None:
    t = row[var]
    return None if t is None else t.value


def network_data() -> dict:
    """Nodes (placed by their coordinates), pairings, hand-overs and exits, from SPARQL."""
    s = store()
    labels = Labels(s)
    pairings = [{
        "iri": _v(r, "pairing"), "assistant": _v(r, "assistant"),
        "recipient": _v(r, "recipient"), "start": _v(r, "start") or None,
        "end": _v(r, "end") or None,
    } for r in s.query(PAIRINGS_QUERY)]
    handovers = [{"later": _v(r, "later"), "earlier": _v(r, "earlier")}
                 for r in s.query(HANDOVERS_QUERY)]
    exits = [{"iri": _v(r, "exit"), "county": _v(r, "county"), "date": _v(r, "date") or None,
              "year": _v(r, "year") or None} for r in s.query(EXITS_QUERY)]

    positions: dict[str, tuple[float, float]] = {}
    for r in s.query(POSITIONS_QUERY):
        place = _v(r, "place")
        try:
            if r["lat"] is not None and r["long"] is not None:
                positions[place] = (float(_v(r, "lat")), float(_v(r, "long")))
            elif r["wkt"] is not None and (m := _POINT.search(_v(r, "wkt") or "")):
                positions[place] = (float(m.group(2)), float(m.group(1)))
        except ValueError:
            continue
    parents: dict[str, list[str]] = {}
    for r in s.query(PARENTS_QUERY):
        parents.setdefault(_v(r, "place"), []).append(_v(r, "parent"))

    roles: dict[str, set[str]] = {}
    for p in pairings:
        roles.setdefault(p["assistant"], set()).add("assistant")
        roles.setdefault(p["recipient"], set()).add("recipient")
    for e in exits:
        roles.setdefault(e["county"], set()).add("exited")

    nodes = []
    for iri in sorted(roles):
        pos, approximate = positions.get(iri), False
        if pos is None:
            # place it at its nearest located ancestor: the one with the most ancestors
            located = [a for a in parents.get(iri, []) if a in positions]
            if located:
                best = max(located, key=lambda a: len(parents.get(a, [])))
                pos, approximate = positions[best], True
        lab = labels.of(iri)
        nodes.append({
            "iri": iri, "href": local_href(iri), "zh": pick(lab, "zh"), "en": pick(lab, "en"),
            "label": labels.text(iri),
            "lat": pos[0] if pos else None, "long": pos[1] if pos else None,
            "approximate": approximate, "roles": sorted(roles[iri]),
        })
    for item in (*pairings, *exits):
        item["href"] = local_href(item["iri"])
        lab = labels.of(item["iri"])
        item["zh"], item["en"] = pick(lab, "zh"), pick(lab, "en")
    return {"nodes": nodes, "pairings": pairings, "handovers": handovers, "exits": exits,
            "queries": {"pairings": PAIRINGS_QUERY, "handovers": HANDOVERS_QUERY,
                        "exits": EXITS_QUERY, "positions": POSITIONS_QUERY}}


@bp.get("/network.json")
def network_json() -> Response:
    resp = jsonify(network_data())
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/network")
def network() -> str:
    return render_template("network.html", title="结对网络 Pairing network",
                           land_url=url_for("ui.static", filename="geo/east-asia-land-50m.geojson"),
                           data_url="/network.json")
