"""Link discovery: our divisions ↔ the entities of an external graph (Wikidata-shaped).

Precision before recall: a wrong link is worse than none. For each division of the store
(anything with a ``dk:divisionCode``), candidates come from the target by GB/T 2260 code
(Wikidata ``P442``) and by name (``rdfs:label``/``skos:altLabel``, Chinese and English,
tolerant of the suffixes 省/市/县/区/自治州/自治县 and of traditional characters, which
OpenCC turns into simplified ones). Each candidate is weighed on four pieces of evidence:

- ``code``: it carries our code (``P442``);
- ``name``: a label equals our name (``exact``), or equals it once suffixes, ethnic names of
  autonomous units and parenthesised glosses are set aside (``stem``);
- ``parent``: its ``P131`` (located in) is the entity our parent is linked to, or carries our
  parent's code (``match``); it names other parents only (``mismatch``); else ``unknown``;
- ``type``: the English labels of its ``P31`` classes fit our level (province, prefecture,
  county, …) or only other levels.

A candidate is acceptable when a name matches, neither parent nor type contradicts, and it
has our code or our parent. A division gets a link only when exactly one candidate is
acceptable, or one is strictly better than all others (exact name over stem, not dissolved
over dissolved), and no candidate carrying our code contradicts it; a target entity claimed
by two divisions links neither. Everything else is reported as unmatched or ambiguous.

Accepted links are written as ``skos:exactMatch`` with a provenance node each (an
``rdf:Statement`` with ``prov:wasDerivedFrom``, ``dcterms:created``, ``dk:linkMethod`` and
``dk:linkScore``); see ``docs/linking.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from kg.errors import InputError, LinkingError
from kg.namespaces import DK, ID, PREFIXES

log = logging.getLogger(__name__)

WDT = "http://www.wikidata.org/prop/direct/"
LINK = ID["link/"]
METHOD = ID["link-method/"]

METHOD_REFERENCE = URIRef(METHOD + "reference-table")
METHOD_CODE = URIRef(METHOD + "gbt2260-code")
METHOD_NAME = URIRef(METHOD + "name-and-parent")

DEFAULT_TIMEOUT = 60.0
"""Seconds one request to a SPARQL endpoint may take."""

USER_AGENT = "duikou-kg/0.1 (kg link; https://w3id.org/duikou/)"

BATCH = 200
"""VALUES entries per request to the target."""

ZH_LANGS = ("zh", "zh-hans", "zh-cn", "zh-sg", "zh-hant", "zh-tw", "zh-hk", "zh-mo")

# ---------------------------------------------------------------------------------------
# Reading a target: an RDF file or a SPARQL endpoint, both answering SELECT queries.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One bound value of a result row."""

    value: str
    kind: str = "uri"  # "uri", "literal" or "bnode"
    lang: str | None = None


Row = dict[str, Value]


class Source(Protocol):
    """An external graph that answers SPARQL queries."""

    iri: str
    """What the graph was taken from (endpoint URL, or file URI), for provenance."""

    def select(self, query: str) -> list[Row]: ...

    def construct(self, query: str) -> list[ox.Triple]: ...


class FileSource:
    """An RDF file loaded into an in-memory Oxigraph store."""

    def __init__(self, path: Path) -> None:
        from kg.loading import parse_rdf

        self.path = path
        self.iri = path.resolve().as_uri()
        self.store = ox.Store()
        try:
            quads = parse_rdf(path)
        except InputError as e:
            raise LinkingError(str(e)) from e
        self.store.extend(
            ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads
        )

    def select(self, query: str) -> list[Row]:
        result = self.store.query(query)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        rows: list[Row] = []
        for solution in result:
            row: Row = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = _value(term)
            rows.append(row)
        return rows

    def construct(self, query: str) -> list[ox.Triple]:
        result = self.store.query(query)
        assert isinstance(result, ox.QueryTriples)
        return list(result)


def _value(term: Any) -> Value:
    if isinstance(term, ox.NamedNode):
        return Value(term.value, "uri")
    if isinstance(term, ox.Literal):
        return Value(term.value, "literal", term.language)
    return Value(str(term), "bnode")


class EndpointSource:
    """A SPARQL 1.1 endpoint, queried by POST (SPARQL 1.1 Protocol) with a timeout."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.iri = url
        self.url = url
        self.timeout = timeout

    def _post(self, query: str, accept: str) -> Any:
        import requests

        try:
            response = requests.post(
                self.url, data={"query": query}, timeout=self.timeout,
                headers={"Accept": accept, "User-Agent": USER_AGENT},
            )
        except requests.RequestException as e:
            raise LinkingError(f"cannot query {self.url}: {e}") from e
        if response.status_code != 200:
            raise LinkingError(
                f"{self.url} answered {response.status_code}: {response.text[:300]}")
        return response

    def select(self, query: str) -> list[Row]:
        response = self._post(query, "application/sparql-results+json")
        try:
            bindings = response.json()["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as e:
            raise LinkingError(f"{self.url} did not answer SPARQL JSON results: {e}") from e
        rows: list[Row] = []
        for b in bindings:
            row: Row = {}
            for name, v in b.items():
                kind = {"uri": "uri", "bnode": "bnode"}.get(v.get("type"), "literal")
                row[name] = Value(v["value"], kind, v.get("xml:lang"))
            rows.append(row)
        return rows

    def construct(self, query: str) -> list[ox.Triple]:
        response = self._post(query, "application/n-triples, text/turtle;q=0.9")
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        fmt = ox.RdfFormat.from_media_type(media) or ox.RdfFormat.N_TRIPLES
        try:
            return [q.triple for q in ox.parse(response.content, format=fmt)]
        except SyntaxError as e:
            raise LinkingError(f"{self.url} answered unreadable RDF ({media}): {e}") from e


def open_source(target: str, *, timeout: float = DEFAULT_TIMEOUT) -> Source:
    """The external graph at ``target``: an ``http(s)://`` SPARQL endpoint or an RDF file."""
    if re.match(r"https?://", target, re.IGNORECASE):
        return EndpointSource(target, timeout=timeout)
    path = Path(target)
    if not path.is_file():
        raise LinkingError(f"{target}: neither an http(s) SPARQL endpoint nor an RDF file")
    return FileSource(path)


def source_name(target: str) -> str:
    """A short name for a target, for file names and graph names.

    >>> source_name("https://query.wikidata.org/sparql")
    'wikidata'
    >>> source_name("http://127.0.0.1:7878/query")
    '127-0-0-1-7878'
    >>> source_name("tests/fixtures/linking/wikidata.ttl")
    'wikidata'
    """
    if re.match(r"https?://", target, re.IGNORECASE):
        netloc = urlsplit(target).netloc.lower()
        if netloc.endswith("wikidata.org"):
            return "wikidata"
        if netloc.endswith("geonames.org"):
            return "geonames"
        return re.sub(r"[^a-z0-9]+", "-", netloc).strip("-") or "external"
    stem = Path(target).name.split(".")[0].lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-") or "external"


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _literal(text: str, lang: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------

ZH_SUFFIXES = ("特别行政区", "自治州", "自治县", "自治区", "自治旗", "地区", "省", "市", "县",
               "区", "州", "盟", "旗", "乡", "镇", "村")
"""Suffixes set aside when names are compared, longest first."""

ZH_VARIANT_SUFFIXES = ("省", "市", "县", "区", "自治州", "自治县", "州")
"""Suffixes tried on a stem when names are looked up in the target."""

EN_SUFFIXES = ("autonomous prefecture", "autonomous county", "autonomous region",
               "prefecture-level city", "county-level city", "province", "prefecture",
               "county", "city", "district", "township", "town", "village", "subdistrict")


ETHNIC_GROUPS = ("土家", "布依", "朝鲜", "蒙古", "哈萨克", "柯尔克孜", "维吾尔", "达斡尔",
                 "鄂温克", "鄂伦春", "哈尼", "傈僳", "拉祜", "纳西", "景颇", "仡佬", "毛南",
                 "仫佬", "撒拉", "保安", "东乡", "裕固", "苗", "侗", "彝", "藏", "羌", "回",
                 "壮", "瑶", "白", "傣", "佤", "水", "黎", "畲", "满", "土", "各")
"""Peoples named in the names of autonomous units (黔东南苗族侗族自治州 → 黔东南)."""

_ETHNIC_TAIL = re.compile(
    "(?:(?:" + "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)) + ")族)+$")


class _Converter:
    """Traditional → simplified Chinese by OpenCC, when it is installed."""

    def __init__(self) -> None:
        self._t2s: Any = None
        self._s2t: Any = None
        try:
            import opencc

            self._t2s = opencc.OpenCC("t2s")
            self._s2t = opencc.OpenCC("s2t")
        except ImportError:  # pragma: no cover - opencc is a declared dependency
            log.warning("opencc is not installed: traditional Chinese labels will not match")

    def simplified(self, text: str) -> str:
        return self._t2s.convert(text) if self._t2s else text

    def traditional(self, text: str) -> str:
        return self._s2t.convert(text) if self._s2t else text


_converter: _Converter | None = None


def converter() -> _Converter:
    global _converter
    if _converter is None:
        _converter = _Converter()
    return _converter


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    return re.sub(r"\s*[(（][^)）]*[)）]\s*", " ", text).strip()


def zh_key(name: str) -> str:
    """A Chinese name with its script, suffix and (for autonomous units) ethnic names set
    aside, for comparison.

    >>> zh_key("黔東南苗族侗族自治州"), zh_key("台江县"), zh_key("浙江省")
    ('黔东南', '台江', '浙江')
    """
    text = converter().simplified(_clean(name)).replace(" ", "")
    for suffix in ZH_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            if suffix.startswith("自治"):
                text = _ETHNIC_TAIL.sub("", text) or text
            break
    return text


def en_key(name: str) -> str:
    """An English name lower-cased, glosses and suffixes set aside, for comparison.

    >>> en_key("Qianxinan Buyei and Miao Autonomous Prefecture"), en_key("Xuan'en County")
    ('qianxinan', 'xuanen')
    >>> en_key("Ningbo (prefecture-level city)")
    'ningbo'
    """
    text = _clean(name).lower()
    if " autonomous " in f" {text} ":
        text = text.split()[0]
    for suffix in EN_SUFFIXES:
        if text.endswith(" " + suffix):
            text = text[: -len(suffix) - 1]
            break
    return re.sub(r"[\s'’\-]+", "", text)


def zh_variants(name: str) -> list[str]:
    """Forms of a Chinese name to look up: as given, its stem with the usual suffixes,
    and all of them in traditional characters."""
    stem = zh_key(name)
    forms = [_clean(name), stem, *(stem + s for s in ZH_VARIANT_SUFFIXES)]
    forms += [converter().traditional(f) for f in forms]
    return list(dict.fromkeys(f for f in forms if f))


def en_variants(name: str) -> list[str]:
    """Forms of an English name to look up: as given, without its gloss, the gloss alone
    (``China (People's Republic of China)``), and the stem with common suffixes."""
    forms = [name.strip(), _clean(name)]
    forms += [g.strip() for g in re.findall(r"[(（]([^)）]*)[)）]", name)]
    base = _clean(name)
    for suffix in EN_SUFFIXES:
        if base.lower().endswith(" " + suffix):
            stem = base[: -len(suffix) - 1]
            forms += [stem, *(f"{stem} {s.title()}" for s in ("County", "City", "District",
                                                               "Province", "Prefecture"))]
            break
    return list(dict.fromkeys(f for f in forms if f))


# ---------------------------------------------------------------------------------------
# Our divisions
# ---------------------------------------------------------------------------------------

LEVELS = ("country", "province", "prefecture", "county", "township", "village")

LEVEL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "country": ("country", "sovereign state"),
    "province": ("province", "autonomous region", "municipality", "special administrative"),
    "prefecture": ("prefecture", "league"),
    "county": ("county", "district", "banner"),
    "township": ("township", "town", "subdistrict"),
    "village": ("village", "community"),
}
"""Words in the English labels of a candidate's classes (``P31``) that fit each level."""


def level_of(code: str) -> str:
    """The level of a division by the shape of its code.

    >>> [level_of(c) for c in ("100000", "330000", "330200", "330106", "513429202000",
    ...                        "513429202201")]
    ['country', 'province', 'prefecture', 'county', 'township', 'village']
    """
    if code == "100000":
        return "country"
    if len(code) == 12:
        return "township" if code.endswith("000") else "village"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


@dataclass
class Division:
    """A division of our graph, as link discovery sees it."""

    iri: str
    code: str
    names_zh: list[str] = field(default_factory=list)
    names_en: list[str] = field(default_factory=list)
    parent: str | None = None
    links: set[str] = field(default_factory=set)

    @property
    def level(self) -> str:
        return level_of(self.code)


DIVISIONS_QUERY = """
PREFIX dk: <https://w3id.org/duikou/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?d ?code ?label ?parent ?link WHERE {
  ?d dk:divisionCode ?code .
  OPTIONAL { ?d rdfs:label ?label }
  OPTIONAL { ?d dk:partOf ?parent . ?parent dk:divisionCode ?pcode .
             FILTER NOT EXISTS { ?d dk:partOf ?mid . ?mid dk:partOf ?parent .
                                 FILTER(?mid != ?d && ?mid != ?parent) } }
  OPTIONAL { ?d skos:exactMatch ?link }
}
"""


def divisions_from_store(store: Any) -> list[Division]:
    """Every division of the store (anything with a ``dk:divisionCode``), parents first."""
    result = store.query(DIVISIONS_QUERY)
    found: dict[str, Division] = {}
    for row in result:
        iri = row["d"].value
        div = found.setdefault(iri, Division(iri, row["code"].value))
        label = row["label"]
        if label is not None:
            names = div.names_en if (label.language or "").startswith("en") else div.names_zh
            lang_ok = label.language is None or label.language.startswith(("zh", "en"))
            if lang_ok and label.value not in names:
                names.append(label.value)
        if row["parent"] is not None:
            div.parent = row["parent"].value
        if row["link"] is not None:
            div.links.add(row["link"].value)
    return sorted(found.values(), key=lambda d: (LEVELS.index(d.level), d.code))


# ---------------------------------------------------------------------------------------
# Candidates and evidence
# ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """An entity of the target, with what it says about itself."""

    iri: str
    codes: set[str] = field(default_factory=set)
    labels_zh: set[str] = field(default_factory=set)
    labels_en: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    parents: set[str] = field(default_factory=set)
    parent_codes: set[str] = field(default_factory=set)
    dissolved: bool = False


@dataclass(frozen=True)
class Evidence:
    """How one candidate fits one division."""

    candidate: str
    code: bool
    name: str | None  # "exact", "stem" or None
    parent: str  # "match", "mismatch" or "unknown"
    type: str  # "match", "mismatch" or "unknown"
    dissolved: bool

    @property
    def acceptable(self) -> bool:
        return (self.name is not None and self.parent != "mismatch"
                and self.type != "mismatch" and (self.code or self.parent == "match"))

    @property
    def rank(self) -> tuple[int, int, int, int, int]:
        return (int(self.code), {"exact": 2, "stem": 1}.get(self.name or "", 0),
                int(self.parent == "match"), int(self.type == "match"), int(not self.dissolved))

    @property
    def score(self) -> float:
        s = (0.5 * self.code + {"exact": 0.3, "stem": 0.2}.get(self.name or "", 0.0)
             + 0.15 * (self.parent == "match") + 0.05 * (self.type == "match")
             - 0.1 * self.dissolved)
        return round(max(0.0, min(1.0, s)), 2)

    @property
    def method(self) -> URIRef:
        return METHOD_CODE if self.code else METHOD_NAME

    def describe(self) -> str:
        parts = ["code" if self.code else "no code", f"name {self.name or 'differs'}",
                 f"parent {self.parent}", f"type {self.type}"]
        if self.dissolved:
            parts.append("dissolved")
        return ", ".join(parts)


def weigh(div: Division, cand: Candidate, parent_links: set[str],
          parent_code: str | None) -> Evidence:
    """The evidence that ``cand`` is ``div``."""
    names_zh = {converter().simplified(_clean(n)) for n in div.names_zh}
    labels_zh = {converter().simplified(_clean(n)) for n in cand.labels_zh}
    names_en = {_clean(n).casefold() for n in div.names_en}
    names_en |= {g.strip().casefold() for n in div.names_en
                 for g in re.findall(r"[(（]([^)）]*)[)）]", n)}
    labels_en = {_clean(n).casefold() for n in cand.labels_en}
    name: str | None = None
    if names_zh & labels_zh or names_en & labels_en:
        name = "exact"
    elif ({zh_key(n) for n in div.names_zh} & {zh_key(n) for n in cand.labels_zh}
          or {en_key(n) for n in div.names_en} & {en_key(n) for n in cand.labels_en}):
        name = "stem"
    parent = "unknown"
    if cand.parents & parent_links or (parent_code and parent_code in cand.parent_codes):
        parent = "match"
    elif cand.parents and (parent_links or cand.parent_codes):
        parent = "mismatch"
    return Evidence(cand.iri, div.code in cand.codes, name, parent,
                    _type_fit(div.level, cand.classes), cand.dissolved)


def _type_fit(level: str, classes: set[str]) -> str:
    if not classes:
        return "unknown"
    labels = [c.casefold() for c in classes]

    def fits(lvl: str, label: str) -> bool:
        words = LEVEL_KEYWORDS[lvl]
        if lvl == "prefecture" and "county-level" in label:
            return False
        if lvl == "county" and "prefecture-level" in label:
            return False
        if lvl == "township" and "township" not in label and "subdistrict" not in label:
            return bool(re.search(r"\btown\b", label))
        return any(w in label for w in words)

    if any(fits(level, label) for label in labels):
        return "match"
    if all(any(fits(other, label) for other in LEVELS if other != level) for label in labels):
        return "mismatch"
    return "unknown"


# ---------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """An accepted link from one of our divisions to an external entity."""

    division: str
    code: str
    target: str
    method: URIRef
    score: float
    evidence: str


@dataclass
class LinkReport:
    """What link discovery found: links, and the divisions it would not guess about."""

    source: str
    accepted: list[Link] = field(default_factory=list)
    already_linked: list[Link] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    candidates_seen: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "accepted": [{"division": link.division, "code": link.code, "target": link.target,
                          "method": str(link.method), "score": link.score,
                          "evidence": link.evidence} for link in self.accepted],
            "already_linked": [{"division": link.division, "code": link.code,
                                "target": link.target} for link in self.already_linked],
            "ambiguous": self.ambiguous,
            "unmatched": self.unmatched,
        }


CODE_QUERY = """SELECT ?item ?code WHERE {{ VALUES ?code {{ {values} }}
  ?item <http://www.wikidata.org/prop/direct/P442> ?code . }}"""

LABEL_QUERY = """SELECT ?item ?label WHERE {{ VALUES ?label {{ {values} }}
  {{ ?item <http://www.w3.org/2000/01/rdf-schema#label> ?label }}
  UNION {{ ?item <http://www.w3.org/2004/02/skos/core#altLabel> ?label }} }}"""

DETAILS_QUERY = """SELECT ?item ?p ?v ?vcode WHERE {{ VALUES ?item {{ {values} }}
  {{ ?item <http://www.wikidata.org/prop/direct/P442> ?v BIND("code" AS ?p) }}
  UNION {{ ?item <http://www.w3.org/2000/01/rdf-schema#label> ?v BIND("label" AS ?p) }}
  UNION {{ ?item <http://www.wikidata.org/prop/direct/P31> ?c .
           ?c <http://www.w3.org/2000/01/rdf-schema#label> ?v
           FILTER(LANGMATCHES(LANG(?v), "en")) BIND("class" AS ?p) }}
  UNION {{ ?item <http://www.wikidata.org/prop/direct/P131> ?v BIND("parent" AS ?p)
           OPTIONAL {{ ?v <http://www.wikidata.org/prop/direct/P442> ?vcode }} }}
  UNION {{ ?item <http://www.wikidata.org/prop/direct/P576> ?v BIND("dissolved" AS ?p) }}
}}"""


def _fetch_candidates(source: Source, divisions: Sequence[Division]) -> dict[str, Candidate]:
    """Candidate entities of the target for ``divisions``, by code and by name."""
    iris: set[str] = set()
    codes = sorted({d.code for d in divisions})
    for chunk in _chunks(codes):
        rows = source.select(CODE_QUERY.format(values=" ".join(_literal(c) for c in chunk)))
        iris |= {r["item"].value for r in rows if r.get("item") and r["item"].kind == "uri"}
    labels: set[str] = set()
    for d in divisions:
        for name in d.names_zh:
            labels |= {_literal(v, lang) for v in zh_variants(name) for lang in ZH_LANGS}
        for name in d.names_en:
            labels |= {_literal(v, "en") for v in en_variants(name)}
    for chunk in _chunks(sorted(labels)):
        rows = source.select(LABEL_QUERY.format(values=" ".join(chunk)))
        iris |= {r["item"].value for r in rows if r.get("item") and r["item"].kind == "uri"}
    found: dict[str, Candidate] = {iri: Candidate(iri) for iri in iris}
    for chunk in _chunks(sorted(iris)):
        rows = source.select(DETAILS_QUERY.format(values=" ".join(f"<{i}>" for i in chunk)))
        for r in rows:
            cand = found[r["item"].value]
            p, v = r["p"].value, r["v"]
            if p == "code":
                cand.codes.add(v.value)
            elif p == "label" and v.lang:
                if v.lang.lower().startswith("zh"):
                    cand.labels_zh.add(v.value)
                elif v.lang.lower().startswith("en"):
                    cand.labels_en.add(v.value)
            elif p == "class":
                cand.classes.add(v.value)
            elif p == "parent" and v.kind == "uri":
                cand.parents.add(v.value)
                if r.get("vcode"):
                    cand.parent_codes.add(r["vcode"].value)
            elif p == "dissolved":
                cand.dissolved = True
    return found


def _namespace(iri: str) -> str:
    return re.sub(r"[^/#]*[/#]?$", "", iri.rstrip("/"))


def discover(divisions: Sequence[Division], source: Source) -> LinkReport:
    """Link discovery of ``divisions`` against ``source``; nothing is written."""
    report = LinkReport(source=source.iri)
    candidates = _fetch_candidates(source, divisions)
    report.candidates_seen = len(candidates)
    by_iri = {d.iri: d for d in divisions}
    known: dict[str, set[str]] = {d.iri: set(d.links) for d in divisions}
    chosen: dict[str, tuple[Division, Evidence]] = {}
    for div in divisions:  # parents first, so that their links are evidence for children
        parent = by_iri.get(div.parent) if div.parent else None
        parent_links = known.get(div.parent, set()) if div.parent else set()
        parent_code = parent.code if parent else None
        weighed = [weigh(div, c, parent_links, parent_code) for c in candidates.values()]
        relevant = [e for e in weighed if e.code or e.name is not None]
        relevant = [e for e in relevant if e.code or e.parent != "mismatch" or e.acceptable]
        good = sorted((e for e in relevant if e.acceptable), key=lambda e: e.rank, reverse=True)
        contradicting = [e for e in relevant if e.code and not e.acceptable]
        if not good:
            if contradicting:
                report.ambiguous[div.code] = [
                    f"<{e.candidate}> carries the code but does not fit: {e.describe()}"
                    for e in contradicting]
            else:
                report.unmatched.append(div.code)
            continue
        if contradicting:
            report.ambiguous[div.code] = [
                f"<{e.candidate}>: {e.describe()}" for e in good + contradicting]
            continue
        if len(good) > 1 and good[0].rank <= good[1].rank:
            report.ambiguous[div.code] = [f"<{e.candidate}>: {e.describe()}" for e in good]
            continue
        best = good[0]
        if best.candidate in chosen:
            other, _ = chosen.pop(best.candidate)
            report.ambiguous[div.code] = [f"<{best.candidate}> fits {other.code} as well"]
            report.ambiguous[other.code] = [f"<{best.candidate}> fits {div.code} as well"]
            known[other.iri].discard(best.candidate)
            continue
        if any(_namespace(link) == _namespace(best.candidate) and link != best.candidate
               for link in div.links):
            report.ambiguous[div.code] = [
                f"<{best.candidate}> ({best.describe()}) conflicts with the existing link(s) "
                + ", ".join(f"<{link}>" for link in sorted(div.links))]
            continue
        chosen[best.candidate] = (div, best)
        known[div.iri].add(best.candidate)
    for target, (div, ev) in sorted(chosen.items(), key=lambda kv: kv[1][0].code):
        link = Link(div.iri, div.code, target, ev.method, ev.score, ev.describe())
        (report.already_linked if target in div.links else report.accepted).append(link)
    report.unmatched.sort()
    return report


# ---------------------------------------------------------------------------------------
# Writing links
# ---------------------------------------------------------------------------------------


def link_node(code: str, target: str) -> URIRef:
    """The IRI of the provenance node of the link from division ``code`` to ``target``.

    >>> str(link_node("330000", "http://www.wikidata.org/entity/Q16967"))
    'https://w3id.org/duikou/id/link/330000-wikidata-Q16967'
    >>> str(link_node("330000", "https://sws.geonames.org/1784764/"))
    'https://w3id.org/duikou/id/link/330000-geonames-1784764'
    """
    m = re.fullmatch(r"http://www\.wikidata\.org/entity/(Q\d+)", target)
    if m:
        return URIRef(f"{LINK}{code}-wikidata-{m.group(1)}")
    m = re.fullmatch(r"https://sws\.geonames\.org/(\d+)/", target)
    if m:
        return URIRef(f"{LINK}{code}-geonames-{m.group(1)}")
    digest = hashlib.sha256(target.encode()).hexdigest()[:12]
    return URIRef(f"{LINK}{code}-{digest}")


def add_link(g: Graph, *, division: str, code: str, target: str, method: URIRef,
             score: float, source: str, created: dt.date, comment: str | None = None) -> None:
    """Add ``division skos:exactMatch target`` and its provenance node to ``g``."""
    node = link_node(code, target)
    g.add((URIRef(division), SKOS.exactMatch, URIRef(target)))
    g.add((node, RDF.type, RDF.Statement))
    g.add((node, RDF.type, PROV.Entity))
    g.add((node, RDF.subject, URIRef(division)))
    g.add((node, RDF.predicate, SKOS.exactMatch))
    g.add((node, RDF.object, URIRef(target)))
    g.add((node, PROV.wasDerivedFrom, URIRef(source)))
    g.add((node, DCTERMS.created, Literal(created.isoformat(), datatype=XSD.date)))
    g.add((node, DK.linkMethod, method))
    g.add((node, DK.linkScore, Literal(f"{score:.2f}", datatype=XSD.decimal)))
    if comment:
        g.add((node, RDFS.comment, Literal(comment, lang="en")))


def links_graph(report: LinkReport, *, created: dt.date | None = None) -> Graph:
    """The accepted links of ``report`` with their provenance, as an rdflib graph."""
    g = Graph()
    when = created or dt.datetime.now(dt.UTC).date()
    for link in report.accepted:
        add_link(g, division=link.division, code=link.code, target=link.target,
                 method=link.method, score=link.score, source=report.source, created=when,
                 comment=f"evidence: {link.evidence}")
    return g


def to_turtle(g: Graph, header: str = "") -> str:
    """Deterministic Turtle: the project's prefixes, subjects and statements sorted."""
    out = Graph()
    for prefix in ("dk", "dkid", "div", "rdf", "rdfs", "xsd", "skos", "dcterms", "prov", "wd",
                   "gn"):
        out.bind(prefix, PREFIXES[prefix], override=True, replace=True)
    for triple in sorted(g):
        out.add(triple)
    text = out.serialize(format="turtle")
    return (header + "\n" if header else "") + text


def write_links(report: LinkReport, out: Path, *, created: dt.date | None = None) -> int:
    """Write the accepted links as Turtle to ``out`` (atomically); returns how many."""
    g = links_graph(report, created=created)
    header = (f"# Links found by `kg link --target {report.source}`: "
              f"{len(report.accepted)} accepted; see docs/linking.md.\n"
              "# Written by kg link; rerun it rather than editing by hand.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(to_turtle(g, header), encoding="utf-8")
    tmp.replace(out)
    return len(report.accepted)


def link(store: Any, target: str, *, timeout: float = DEFAULT_TIMEOUT) -> LinkReport:
    """Discover links from the divisions of ``store`` to the graph at ``target``."""
    divisions = divisions_from_store(store)
    if not divisions:
        raise LinkingError("the store holds no divisions (nothing with dk:divisionCode)")
    return discover(divisions, open_source(target, timeout=timeout))


# ---------------------------------------------------------------------------------------
# Links from the verified reference table
# ---------------------------------------------------------------------------------------

REFERENCE_SOURCE = URIRef(ID + "dataset/divisions")
"""The reference data of divisions, described in ``data/links/division-links.ttl``."""


def reference_links(rows: Iterable[Mapping[str, str]], *, created: dt.date) -> Graph:
    """The verified Wikidata and GeoNames links of the reference table (``divisions.csv``):
    a row's ``wikidata_qid`` only where ``qid_status`` says verified, and its
    ``geonames_id`` where given (both GeoNames snapshots agree); nothing else."""
    g = Graph()
    for row in rows:
        code = row["code"].strip()
        division = f"{ID}division/{code}"
        qid = row.get("wikidata_qid", "").strip()
        if qid and row.get("qid_status", "").strip().startswith("verified"):
            if not re.fullmatch(r"Q\d+", qid):
                raise ValueError(f"{code}: malformed QID {qid!r}")
            add_link(g, division=division, code=code,
                     target=f"http://www.wikidata.org/entity/{qid}", method=METHOD_REFERENCE,
                     score=1.0, source=REFERENCE_SOURCE, created=created,
                     comment=f"reference table: {row.get('qid_status', '').strip()}")
        gid = row.get("geonames_id", "").strip()
        if gid:
            if not re.fullmatch(r"\d+", gid):
                raise ValueError(f"{code}: malformed GeoNames id {gid!r}")
            add_link(g, division=division, code=code,
                     target=f"https://sws.geonames.org/{gid}/", method=METHOD_REFERENCE,
                     score=1.0, source=REFERENCE_SOURCE, created=created,
                     comment="reference table: two GeoNames export snapshots agree")
    return g
