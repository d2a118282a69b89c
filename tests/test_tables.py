"""Unit tests of kg.tables, the CSVW → RDF mapping, on small temporary tables."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef

from kg import tables
from kg.namespaces import DK, ID, PREFIXES
from kg.tables import TableError, expand_iri, read_table

ROOT = Path(__file__).resolve().parent.parent


def make_table(tmp_path: Path, csv_text: str, columns: list[dict[str, Any]], **schema: Any) -> Path:
    """Write ``t.csv`` and its metadata; return the metadata path."""
    (tmp_path / "t.csv").write_text(csv_text, encoding="utf-8")
    meta = {
        "@context": "http://www.w3.org/ns/csvw",
        "url": "t.csv",
        "tableSchema": {"aboutUrl": "dkid:thing/{id}", "columns": columns, **schema},
    }
    path = tmp_path / "t.csv-metadata.json"
    path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return path


ID_COL = {"name": "id", "suppressOutput": True}


def test_module_doctests() -> None:
    result = doctest.testmod(tables)
    assert result.attempted > 0 and result.failed == 0


def test_literals_datatypes_and_languages(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,value,year,name_zh,flag\na,113.83,2018,宁波市,yes\n",
        [
            ID_COL,
            {"name": "value", "propertyUrl": "dk:value", "datatype": "decimal"},
            {"name": "year", "propertyUrl": "dk:startYear", "datatype": "gYear"},
            {"name": "name_zh", "propertyUrl": "rdfs:label", "lang": "zh"},
            {
                "name": "flag",
                "propertyUrl": "dk:nationalPovertyCounty",
                "datatype": {"base": "boolean", "format": "yes|no"},
            },
        ],
    )
    g = read_table(meta)
    s = ID["thing/a"]
    assert (s, DK.value, Literal("113.83", datatype=XSD.decimal)) in g
    assert (s, DK.startYear, Literal("2018", datatype=XSD.gYear)) in g
    assert (s, URIRef(PREFIXES["rdfs"] + "label"), Literal("宁波市", lang="zh")) in g
    assert (s, DK.nationalPovertyCounty, Literal("true", datatype=XSD.boolean)) in g
    assert len(g) == 4


def test_value_urls_virtual_columns_and_separators(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,area,pairing,quote\nx,330000,a;b,甲|乙\n",
        [
            ID_COL,
            {"name": "area", "propertyUrl": "dk:refArea", "valueUrl": "div:{area}"},
            {
                "name": "pairing",
                "propertyUrl": "dk:pairing",
                "valueUrl": "dkid:pairing/{pairing}",
                "separator": ";",
            },
            {"name": "quote", "propertyUrl": "dk:quote", "lang": "zh", "separator": "|"},
            {"virtual": True, "propertyUrl": "rdf:type", "valueUrl": "dk:Observation"},
        ],
    )
    g = read_table(meta)
    s = ID["thing/x"]
    assert (s, DK.refArea, URIRef("https://w3id.org/duikou/id/division/330000")) in g
    assert set(g.objects(s, DK.pairing)) == {ID["pairing/a"], ID["pairing/b"]}
    assert set(g.objects(s, DK.quote)) == {Literal("甲", lang="zh"), Literal("乙", lang="zh")}
    assert (s, RDF.type, DK.Observation) in g


def test_empty_cells_nulls_and_defaults(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,start,end,unit,succeeds\na,,NA,,\n",
        [
            ID_COL,
            {"name": "start", "propertyUrl": "dk:startYear", "datatype": "gYear"},
            {"name": "end", "propertyUrl": "dk:endYear", "datatype": "gYear", "null": "NA"},
            {"name": "unit", "propertyUrl": "dk:unit", "valueUrl": "dk:{unit}", "default": "CNY"},
            {"name": "succeeds", "propertyUrl": "dk:succeeds", "valueUrl": "dkid:p/{succeeds}"},
        ],
    )
    g = read_table(meta)
    assert set(g) == {(ID["thing/a"], DK.unit, DK.CNY)}


def test_titles_match_header_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "编号,数值\n\na,1\n",
        [
            {"name": "id", "titles": ["编号", "id"], "suppressOutput": True},
            {"name": "v", "titles": "数值", "propertyUrl": "dk:value", "datatype": "integer"},
        ],
    )
    assert len(read_table(meta)) == 1


def test_column_about_url_reserved_expansion_and_row_number(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,who,target\na,dkid:org/x,div:330000\n",
        [
            ID_COL,
            {"name": "who", "propertyUrl": "dk:announcedBy", "valueUrl": "{+who}"},
            {
                "name": "target",
                "aboutUrl": "dkid:row/{_row}",
                "propertyUrl": "dk:refArea",
                "valueUrl": "{+target}",
            },
        ],
    )
    g = read_table(meta)
    assert (ID["thing/a"], DK.announcedBy, ID["org/x"]) in g
    assert (ID["row/1"], DK.refArea, URIRef(PREFIXES["div"] + "330000")) in g


def test_template_values_are_percent_encoded(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,v\na b/c,1\n",
        [ID_COL, {"name": "v", "propertyUrl": "dk:value", "datatype": "decimal"}],
    )
    (s,) = set(read_table(meta).subjects())
    assert str(s) == str(ID) + "thing/a%20b%2Fc"


def test_expand_iri() -> None:
    assert expand_iri("div:330000") == "https://w3id.org/duikou/id/division/330000"
    assert expand_iri("urn:x:y") == "urn:x:y"
    with pytest.raises(ValueError):
        expand_iri("not an iri")


# ---------------------------------------------------------------- errors


def _error(meta: Path) -> TableError:
    with pytest.raises(TableError) as info:
        read_table(meta)
    assert isinstance(info.value, ValueError)
    return info.value


def test_bad_decimal_names_file_row_and_column(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,value\na,1\nb,113.83亿\n",
        [ID_COL, {"name": "value", "propertyUrl": "dk:value", "datatype": "decimal"}],
    )
    err = _error(meta)
    assert (err.row, err.column) == (2, "value")
    assert "t.csv" in str(err) and "row 2" in str(err) and "'value'" in str(err)
    assert "xsd:decimal" in str(err)


@pytest.mark.parametrize(
    ("datatype", "bad"),
    [("gYear", "98"), ("date", "2020-4-24"), ("boolean", "yes"), ("integer", "1.5")],
)
def test_bad_lexical_forms(tmp_path: Path, datatype: str, bad: str) -> None:
    meta = make_table(
        tmp_path,
        f"id,v\na,{bad}\n",
        [ID_COL, {"name": "v", "propertyUrl": "dk:v", "datatype": datatype}],
    )
    err = _error(meta)
    assert (err.row, err.column) == (1, "v")


def test_unknown_column_in_template(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,area\na,1\n",
        [ID_COL, {"name": "area", "propertyUrl": "dk:refArea", "valueUrl": "div:{code}"}],
    )
    err = _error(meta)
    assert err.column == "area" and "unknown column 'code'" in str(err)


def test_unknown_column_in_schema_about_url(tmp_path: Path) -> None:
    meta = make_table(tmp_path, "id\na\n", [ID_COL], aboutUrl="dkid:x/{identifier}")
    assert "unknown column 'identifier'" in str(_error(meta))


def test_header_mismatch(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path, "id,valu\na,1\n", [ID_COL, {"name": "value", "propertyUrl": "dk:value"}]
    )
    err = _error(meta)
    assert err.column == "value" and "'valu'" in str(err)


def test_wrong_number_of_cells(tmp_path: Path) -> None:
    meta = make_table(tmp_path, "id,v\na,1,2\n", [ID_COL, {"name": "v", "propertyUrl": "dk:v"}])
    assert _error(meta).row == 1


def test_required_cell_empty(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path, "id,v\na,\n", [ID_COL, {"name": "v", "propertyUrl": "dk:v", "required": True}]
    )
    err = _error(meta)
    assert (err.row, err.column) == (1, "v") and "required" in str(err)


def test_empty_about_url_cell(tmp_path: Path) -> None:
    meta = make_table(tmp_path, "id,v\n,1\n", [ID_COL, {"name": "v", "propertyUrl": "dk:v"}])
    assert _error(meta).row == 1


def test_unknown_prefix_in_value(tmp_path: Path) -> None:
    meta = make_table(
        tmp_path,
        "id,who\na,nope x\n",
        [ID_COL, {"name": "who", "propertyUrl": "dk:a", "valueUrl": "{+who}"}],
    )
    err = _error(meta)
    assert (err.row, err.column) == (1, "who")


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "v"}, "no 'propertyUrl'"),
        ({"name": "v", "propertyUrl": "dk:v", "datatype": "float128"}, "unsupported datatype"),
        ({"name": "v", "propertyUrl": "dk:v", "valueUrl": "div:{v}", "lang": "zh"}, "both"),
        ({"name": "v", "propertyUrl": "dk:v", "titel": "typo"}, "unsupported column properties"),
        ({"virtual": True, "propertyUrl": "rdf:type"}, "virtual column needs a 'valueUrl'"),
    ],
)
def test_bad_column_metadata(tmp_path: Path, column: dict[str, Any], message: str) -> None:
    csv_text = "id,v\na,1\n" if not column.get("virtual") else "id\na\n"
    meta = make_table(tmp_path, csv_text, [ID_COL, column])
    err = _error(meta)
    assert message in str(err) and err.row is None


def test_missing_table_and_bad_json(tmp_path: Path) -> None:
    meta = tmp_path / "gone.csv-metadata.json"
    meta.write_text(json.dumps({"url": "gone.csv", "tableSchema": {"columns": []}}))
    assert "gone.csv" in str(_error(meta))
    meta.write_text("{not json")
    assert "cannot read metadata" in str(_error(meta))


# ---------------------------------------------------------------- the repository's own tables


METADATA = sorted((ROOT / "data").rglob("*.csv-metadata.json"))


def test_repository_has_tables() -> None:
    assert METADATA, "no *.csv-metadata.json under data/"


@pytest.mark.parametrize("meta", METADATA, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_tables_map(meta: Path) -> None:
    g = read_table(meta)
    assert isinstance(g, Graph) and len(g) > 0
