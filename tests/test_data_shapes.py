"""The data against the SHACL shapes and against the source text.

- the repository's data conforms to ``ontology/shapes.ttl``;
- deliberately broken copies of it are caught, each by the shape meant to catch it;
- every ``dk:quote`` is a verbatim part of its source article, and every figure's
  ``dk:value`` is what its ``dk:sourceValue`` says (亿 ×10⁸, 万 ×10⁴).

Validation runs with pyshacl's ``inference="rdfs"`` and the ontology as ``ont_graph``, as the
build does: without inference pyshacl does not mix the ontology in, and sh:class would not see
that a county-level city is a county.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import PROV, SDO

from kg.build import graphs_as_rdflib
from kg.loading import load_into
from kg.namespaces import DIVISION, DK, ID, SH, Graphs

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ROOT / "ontology" / "shapes.ttl"


@pytest.fixture(scope="module")
def graphs() -> tuple[Graph, Graph]:
    """(asserted data + reference + links, ontology) as the build loads them."""
    db = ox.Store()
    load_into(db, [ROOT / "ontology"], [ROOT / "data"])
    data = graphs_as_rdflib(db, [str(g) for g in (Graphs.DATA, Graphs.REFERENCE, Graphs.LINKS)])
    return data, graphs_as_rdflib(db, [str(Graphs.ONTOLOGY)])


def validate(data: Graph, ontology: Graph) -> tuple[bool, Graph]:
    import pyshacl

    shapes = Graph().parse(SHAPES)
    conforms, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs", advanced=True
    )
    assert isinstance(report, Graph)
    return bool(conforms), report


def test_repository_data_conforms(graphs: tuple[Graph, Graph]) -> None:
    data, ontology = graphs
    conforms, report = validate(data, ontology)
    assert conforms, report.serialize(format="turtle")


# Each mutation breaks one node in one way; all are applied to one copy and validated once.
OBS = ID["observation/zhejiang-fiscal-funds-2018-2020"]
OBS2 = ID["observation/sichuan-social-capital"]
OBS3 = ID["observation/guizhou-poor-population-2015"]
EXIT = ID["exit/enshi-2020"]
EXIT2 = ID["exit/antu-2020"]
PAIRING = ID["pairing/ningbo-yanbian"]
PAIRING2 = ID["pairing/hangzhou-qiandongnan"]
PHOTO = ID["photo/xihu-xuanen"]
DIV = DIVISION["422825"]
DIV2 = DIVISION["222424"]


def _set(g: Graph, s: URIRef, p: URIRef, o: object) -> None:
    g.remove((s, p, None))
    if o is not None:
        g.add((s, p, o))  # type: ignore[arg-type]


def _drop_language(g: Graph, s: URIRef, lang: str) -> None:
    for p, o in list(g.predicate_objects(s)):
        if isinstance(o, Literal) and o.language == lang:
            g.remove((s, p, o))


MUTATIONS = {
    "observation without quote": (OBS, lambda g: _set(g, OBS, DK.quote, None)),
    "value not a decimal": (OBS3, lambda g: _set(g, OBS3, DK.value, Literal("493万"))),
    "approximate wording stored as exact": (
        OBS2,
        lambda g: _set(g, OBS2, DK.approximation, DK.Exact),
    ),
    "observation without unit": (
        ID["observation/sichuan-enclave-parks"],
        lambda g: _set(g, ID["observation/sichuan-enclave-parks"], DK.unit, None),
    ),
    "exit without date": (EXIT, lambda g: _set(g, EXIT, DK.date, None)),
    "exit of a prefecture": (EXIT2, lambda g: _set(g, EXIT2, DK.county, DIVISION["222400"])),
    "pairing ends before it starts": (
        PAIRING,
        lambda g: _set(g, PAIRING, DK.endYear, Literal("2010", datatype=XSD.gYear)),
    ),
    "hand-over to another recipient": (
        PAIRING2,
        lambda g: _set(g, PAIRING2, DK.succeeds, ID["pairing/ningbo-yanbian"]),
    ),
    "photo without credit": (PHOTO, lambda g: _set(g, PHOTO, SDO.creditText, None)),
    "division code does not match its IRI": (
        DIV,
        lambda g: _set(g, DIV, DK.divisionCode, Literal("422826")),
    ),
    "division without English label": (DIV2, lambda g: _drop_language(g, DIV2, "en")),
    "figure about something that is not a division": (
        ID["observation/sichuan-sales-outlets"],
        lambda g: _set(g, ID["observation/sichuan-sales-outlets"], DK.refArea, ID["org/x"]),
    ),
    "pairing without provenance": (
        ID["pairing/xihu-xuanen"],
        lambda g: _set(g, ID["pairing/xihu-xuanen"], PROV.wasDerivedFrom, None),
    ),
}


@pytest.fixture(scope="module")
def broken_report(graphs: tuple[Graph, Graph]) -> tuple[bool, Graph]:
    data, ontology = graphs
    broken = Graph()
    for triple in data:
        broken.add(triple)
    for _focus, mutate in MUTATIONS.values():
        mutate(broken)
    return validate(broken, ontology)


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_shapes_catch(case: str, broken_report: tuple[bool, Graph]) -> None:
    conforms, report = broken_report
    assert not conforms
    focus = MUTATIONS[case][0]
    assert (None, SH.focusNode, focus) in report, f"no violation reported for {case} ({focus})"


# ---------------------------------------------------------------- against the source text


def _source_text(doc: URIRef) -> str:
    slug = str(doc).rsplit("/", 1)[-1]
    article = ROOT / "data" / slug / "article.zh.txt"
    assert article.exists(), f"no local text for {doc}: expected {article}"
    return article.read_text(encoding="utf-8")


def test_quotes_are_verbatim(graphs: tuple[Graph, Graph]) -> None:
    data, _ = graphs
    checked = 0
    for s, quote in data.subject_objects(DK.quote):
        docs = set(data.objects(s, PROV.wasDerivedFrom))
        assert docs, f"{s} has a quote but no prov:wasDerivedFrom"
        for doc in docs:
            assert str(quote) in _source_text(doc), f"{s}: quote not in the source: {quote}"
            checked += 1
    assert checked > 100


_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)(多|余)?(万|亿)?")
_SCALE = {"": 1, "万": 10**4, "亿": 10**8}


def test_values_match_source_wording(graphs: tuple[Graph, Graph]) -> None:
    data, _ = graphs
    checked = 0
    for obs in data.subjects(RDF.type, DK.Observation):
        unit = data.value(obs, DK.unit)
        wording = str(data.value(obs, DK.sourceValue))
        value = Decimal(str(data.value(obs, DK.value)))
        if unit == DK.Rank:
            continue
        m = _NUMBER.search(wording)
        assert m, f"{obs}: no number in {wording!r}"
        assert value == Decimal(m.group(1)) * _SCALE[m.group(3) or ""], (obs, wording, value)
        checked += 1
    assert checked >= 50


# ---- kg.validation (SPARQL constraints run in pyoxigraph) agrees with pyshacl ------------


def _focus_nodes_reported(report: Graph) -> set[str]:
    return {str(f) for f in report.objects(None, SH.focusNode)}


def test_kg_validation_agrees_with_pyshacl(graphs: tuple[Graph, Graph],
                                           broken_report: tuple[bool, Graph]) -> None:
    """The build's validator runs SHACL-SPARQL constraints itself (once per query, in
    pyoxigraph); it must find the same failing focus nodes as pyshacl does alone."""
    from kg.validation import load_shapes, split_sparql_constraints
    from kg.validation import validate as kg_validate

    data, ontology = graphs
    shapes = load_shapes(SHAPES)
    _core, taken = split_sparql_constraints(shapes)
    assert taken, "no SPARQL constraint is run by kg.validation: the test would be empty"
    assert kg_validate(data, shapes, ontology).conforms
    broken = Graph()
    for triple in data:
        broken.add(triple)
    for _focus, mutate in MUTATIONS.values():
        mutate(broken)
    ours = kg_validate(broken, shapes, ontology)
    assert not ours.conforms
    expected = {URIRef(f).n3(shapes.namespace_manager)
                for f in _focus_nodes_reported(broken_report[1])}
    assert {v.focus for v in ours.violations} == expected
