"""Tables to RDF: a small, documented subset of W3C *Generating RDF from Tabular Data* (csv2rdf).

A table is a UTF-8 CSV file with a header row, described by a CSVW metadata file named
``NAME.csv-metadata.json`` beside it.  :func:`read_table` turns one such table into an
:class:`rdflib.Graph` (csv2rdf "minimal mode": only the triples of the rows, no description of
the table itself).

Supported metadata (everything else is rejected or, for annotations such as ``dc:title``,
ignored):

- table ``url`` (relative to the metadata file) and ``tableSchema``;
- ``tableSchema.aboutUrl`` (the subject of every row) and ``tableSchema.columns``;
- per column: ``name``, ``titles`` (a string or a list; the header cell must equal the name or
  one of the titles), ``propertyUrl``, ``valueUrl``, ``aboutUrl`` (overrides the schema's),
  ``datatype`` (an XSD name such as ``"decimal"`` or ``{"base": "boolean", "format": "yes|no"}``),
  ``lang``, ``null`` (a string or a list; the empty string is always null), ``default``,
  ``separator`` (a cell holding several values), ``required``, ``virtual`` (a column with no
  cell: it emits ``propertyUrl``/``valueUrl`` for every row) and ``suppressOutput``.

URI templates are RFC 6570 level 1 and 2: ``{col}`` inserts the cell percent-encoded,
``{+col}`` inserts it as is; ``{_row}`` is the row number (1 = first data row).  After
expansion a value of the form ``prefix:rest`` whose prefix is one of the project's
:data:`kg.namespaces.PREFIXES` is expanded; anything else must be an absolute IRI.

An empty cell (or a cell equal to a ``null`` value) yields no triple, and a ``valueUrl`` or
column ``aboutUrl`` that refers to an empty cell yields no triple either.  Every problem is
reported as a :class:`TableError` naming the file, the row and the column.

>>> import json, pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "t.csv").write_text("id,n\\na,1.5\\n", encoding="utf-8")
>>> meta = {"url": "t.csv", "tableSchema": {"aboutUrl": "dkid:x/{id}", "columns": [
...     {"name": "id", "suppressOutput": True},
...     {"name": "n", "propertyUrl": "dk:value", "datatype": "decimal"}]}}
>>> _ = (d / "t.csv-metadata.json").write_text(json.dumps(meta), encoding="utf-8")
>>> g = read_table(d / "t.csv-metadata.json")
>>> print(len(g), next(iter(g))[2])
1 1.5
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kg.namespaces import PREFIXES

__all__ = ["TableError", "expand_iri", "read_table"]

_TEMPLATE_VAR = re.compile(r"\{(\+?)([A-Za-z_][A-Za-z0-9_.]*)\}")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")
_PREFIXED = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(.*)$")

# Lexical forms accepted for each supported XSD datatype.
_LEXICAL: dict[str, re.Pattern[str]] = {
    "string": re.compile(r".*", re.S),
    "anyURI": re.compile(r"\S+"),
    "decimal": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
    "integer": re.compile(r"[+-]?\d+"),
    "nonNegativeInteger": re.compile(r"\+?\d+|-0+"),
    "double": re.compile(r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|NaN)|-INF"),
    "boolean": re.compile(r"true|false|1|0"),
    "date": re.compile(r"-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(Z|[+-]\d{2}:\d{2})?"),
    "dateTime": re.compile(
        r"-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
        r"(\.\d+)?(Z|[+-]\d{2}:\d{2})?"
    ),
    "gYear": re.compile(r"-?\d{4,}(Z|[+-]\d{2}:\d{2})?"),
    "gYearMonth": re.compile(r"-?\d{4,}-(0[1-9]|1[0-2])(Z|[+-]\d{2}:\d{2})?"),
}
_CSVW_ALIASES = {"number": "double", "any": "string", "datetime": "dateTime"}


class TableError(ValueError):
    """A table or its metadata cannot be mapped; says which file, row and column.

    ``row`` is the 1-based data row (``None`` for metadata problems) and ``column`` the
    column name (``None`` when the problem is not tied to one column).
    """

    def __init__(
        self, path: Path | str, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.path = Path(path)
        self.row = row
        self.column = column
        where = str(self.path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class _Datatype:
    name: str
    iri: URIRef
    true_false: tuple[str, str] | None = None  # boolean format "yes|no"


@dataclass(frozen=True)
class _Column:
    name: str
    titles: tuple[str, ...]
    property_url: str | None
    value_url: str | None
    about_url: str | None
    datatype: _Datatype | None
    lang: str | None
    nulls: frozenset[str]
    default: str
    separator: str | None
    virtual: bool
    suppress: bool
    required: bool


@dataclass
class _Table:
    metadata_path: Path
    csv_path: Path
    about_url: str | None
    columns: list[_Column] = field(default_factory=list)


def expand_iri(value: str, prefixes: Mapping[str, str] = PREFIXES) -> str:
    """Expand ``prefix:rest`` with a known prefix; return an absolute IRI unchanged.

    >>> expand_iri("dk:Pairing")
    'https://w3id.org/duikou/ontology#Pairing'
    >>> expand_iri("http://example.org/x")
    'http://example.org/x'

    Raises :class:`ValueError` for anything that is neither.
    """
    m = _PREFIXED.match(value)
    if m and m.group(1) in prefixes:
        return prefixes[m.group(1)] + m.group(2)
    if _ABSOLUTE_IRI.match(value):
        return value
    raise ValueError(f"{value!r} is neither an absolute IRI nor a name with a known prefix")


def _template_vars(template: str) -> list[str]:
    return [m.group(2) for m in _TEMPLATE_VAR.finditer(template)]


def _expand(template: str, cells: Mapping[str, str]) -> str | None:
    """Expand a URI template; ``None`` when a variable it uses is empty."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        value = cells.get(m.group(2), "")
        if value == "":
            missing = True
            return ""
        return value if m.group(1) == "+" else quote(value, safe="")

    result = _TEMPLATE_VAR.sub(sub, template)
    return None if missing else result


def _parse_datatype(path: Path, column: str, spec: Any) -> _Datatype:
    fmt: str | None = None
    if isinstance(spec, dict):
        base = spec.get("base", "string")
        fmt = spec.get("format")
    else:
        base = spec
    if not isinstance(base, str):
        raise TableError(path, f"datatype {spec!r} is not understood", column=column)
    base = _CSVW_ALIASES.get(base, base)
    if base.startswith(str(XSD)):
        base = base[len(str(XSD)) :]
    if base not in _LEXICAL:
        raise TableError(
            path,
            f"unsupported datatype {base!r} (supported: {', '.join(sorted(_LEXICAL))})",
            column=column,
        )
    true_false = None
    if fmt is not None:
        if base != "boolean" or not isinstance(fmt, str) or fmt.count("|") != 1:
            raise TableError(
                path, f"unsupported format {fmt!r} (only boolean 'yes|no' formats)", column=column
            )
        t, f = fmt.split("|")
        true_false = (t, f)
    return _Datatype(base, XSD[base], true_false)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, dict):  # natural-language titles {"en": [...], "zh": ...}
        out: list[str] = []
        for v in value.values():
            out.extend(_as_tuple(v))
        return tuple(out)
    raise ValueError(f"expected a string or a list of strings, got {value!r}")


_KNOWN_COLUMN_KEYS = {
    "name", "titles", "propertyUrl", "valueUrl", "aboutUrl", "datatype", "lang", "null",
    "default", "separator", "virtual", "suppressOutput", "required", "@type", "@id",
}  # fmt: skip


def _load_metadata(metadata_path: Path) -> _Table:
    try:
        meta = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TableError(metadata_path, f"cannot read metadata: {exc}") from exc
    if not isinstance(meta, dict):
        raise TableError(metadata_path, "metadata must be a JSON object describing one table")
    url = meta.get("url")
    if not isinstance(url, str) or not url:
        raise TableError(metadata_path, "metadata has no table 'url'")
    schema = meta.get("tableSchema")
    if not isinstance(schema, dict) or not isinstance(schema.get("columns"), list):
        raise TableError(metadata_path, "metadata has no 'tableSchema' with a 'columns' list")
    table = _Table(metadata_path, (metadata_path.parent / url), schema.get("aboutUrl"))

    seen: set[str] = set()
    for i, spec in enumerate(schema["columns"], start=1):
        if not isinstance(spec, dict):
            raise TableError(metadata_path, f"column {i} is not a JSON object")
        virtual = bool(spec.get("virtual", False))
        titles_raw = spec.get("titles")
        try:
            titles = _as_tuple(titles_raw)
            nulls = frozenset(_as_tuple(spec.get("null"))) | {""}
        except ValueError as exc:
            raise TableError(metadata_path, str(exc), column=spec.get("name")) from exc
        name = spec.get("name") or (titles[0] if titles else None)
        if not name:
            if not virtual:
                raise TableError(metadata_path, f"column {i} has neither 'name' nor 'titles'")
            name = f"_col.{i}"
        if name in seen:
            raise TableError(metadata_path, "duplicate column name", column=name)
        seen.add(name)
        unknown = set(spec) - _KNOWN_COLUMN_KEYS
        if unknown:
            raise TableError(
                metadata_path, f"unsupported column properties {sorted(unknown)}", column=name
            )
        datatype = (
            _parse_datatype(metadata_path, name, spec["datatype"]) if "datatype" in spec else None
        )
        col = _Column(
            name=name,
            titles=titles or (name,),
            property_url=spec.get("propertyUrl"),
            value_url=spec.get("valueUrl"),
            about_url=spec.get("aboutUrl"),
            datatype=datatype,
            lang=spec.get("lang"),
            nulls=nulls,
            default=str(spec.get("default", "")),
            separator=spec.get("separator"),
            virtual=virtual,
            suppress=bool(spec.get("suppressOutput", False)),
            required=bool(spec.get("required", False)),
        )
        if not col.suppress and col.property_url is None:
            raise TableError(
                metadata_path,
                "column has no 'propertyUrl' (mark columns that only feed templates "
                'with "suppressOutput": true)',
                column=name,
            )
        if col.virtual and col.value_url is None:
            raise TableError(metadata_path, "virtual column needs a 'valueUrl'", column=name)
        if col.value_url is not None and (col.datatype is not None or col.lang is not None):
            raise TableError(
                metadata_path, "a column cannot have both 'valueUrl' and datatype/lang", column=name
            )
        table.columns.append(col)

    unanchored = [c for c in table.columns if not c.suppress and c.about_url is None]
    if table.about_url is None and unanchored:
        raise TableError(metadata_path, "no 'aboutUrl' for the rows (schema or column level)")
    names = {c.name for c in table.columns} | {"_row"}
    templates: list[tuple[str | None, str]] = [(None, table.about_url or "")]
    for c in table.columns:
        templates += [(c.name, t) for t in (c.property_url, c.value_url, c.about_url) if t]
    for col_name, template in templates:
        for var in _template_vars(template):
            if var not in names:
                raise TableError(
                    metadata_path,
                    f"template {template!r} refers to unknown column {var!r}",
                    column=col_name,
                )
    return table


def _rows(table: _Table) -> Iterator[tuple[int, dict[str, str]]]:
    path = table.csv_path
    physical = [c for c in table.columns if not c.virtual]
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise TableError(path, "the file is empty (no header row)") from None
            header = [h.strip() for h in header]
            if len(header) != len(physical):
                raise TableError(
                    path,
                    f"header has {len(header)} cells, metadata {table.metadata_path.name} "
                    f"describes {len(physical)} columns",
                )
            for cell, col in zip(header, physical, strict=True):
                if cell != col.name and cell not in col.titles:
                    raise TableError(
                        path, f"header cell {cell!r} does not match the column", column=col.name
                    )
            for n, record in enumerate(reader, start=1):
                if not record or all(not c.strip() for c in record):
                    continue
                if len(record) != len(physical):
                    raise TableError(
                        path, f"row has {len(record)} cells, expected {len(physical)}", row=n
                    )
                yield (
                    n,
                    {col.name: cell.strip() for col, cell in zip(physical, record, strict=True)},
                )
    except OSError as exc:
        raise TableError(path, f"cannot read table: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise TableError(path, f"not UTF-8: {exc}") from exc
    except csv.Error as exc:
        raise TableError(path, f"malformed CSV: {exc}") from exc


def _iri(table: _Table, template: str, cells: Mapping[str, str], row: int, col: str | None):
    expanded = _expand(template, cells)
    if expanded is None:
        return None
    try:
        return URIRef(expand_iri(expanded))
    except ValueError as exc:
        raise TableError(table.csv_path, str(exc), row=row, column=col) from exc


def _literal(table: _Table, col: _Column, value: str, row: int) -> Literal:
    dt = col.datatype
    if dt is None or (dt.name == "string" and col.lang):
        return Literal(value, lang=col.lang) if col.lang else Literal(value)
    if dt.true_false is not None:
        if value not in dt.true_false:
            raise TableError(
                table.csv_path,
                f"{value!r} is not {dt.true_false[0]!r} or {dt.true_false[1]!r}",
                row=row,
                column=col.name,
            )
        value = "true" if value == dt.true_false[0] else "false"
    if not _LEXICAL[dt.name].fullmatch(value):
        raise TableError(
            table.csv_path, f"{value!r} is not a valid xsd:{dt.name}", row=row, column=col.name
        )
    if dt.name == "string":
        return Literal(value)
    return Literal(value, datatype=dt.iri)


def _cell_values(col: _Column, raw: str) -> Sequence[str]:
    if raw in col.nulls:
        raw = col.default
    if raw == "" or raw in col.nulls:
        return ()
    if col.separator:
        return [v.strip() for v in raw.split(col.separator) if v.strip() not in col.nulls]
    return (raw,)


def read_table(metadata_path: Path) -> Graph:
    """Map the table described by a CSVW metadata file to RDF.

    ``metadata_path`` is the ``NAME.csv-metadata.json`` file; the table is its ``url``,
    resolved against the metadata file's folder.  Raises :class:`TableError` (a
    :class:`ValueError`) naming the file, row and column of the first problem.
    """
    metadata_path = Path(metadata_path)
    table = _load_metadata(metadata_path)
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, Namespace(ns))

    for n, cells in _rows(table):
        cells = {**cells, "_row": str(n)}
        default_subject = _iri(table, table.about_url, cells, n, None) if table.about_url else None
        if table.about_url and default_subject is None:
            raise TableError(
                table.csv_path, f"aboutUrl {table.about_url!r} refers to an empty cell", row=n
            )
        for col in table.columns:
            if col.required and not col.virtual and not _cell_values(col, cells[col.name]):
                raise TableError(table.csv_path, "required cell is empty", row=n, column=col.name)
            if col.suppress:
                continue
            subject: Node | None = default_subject
            if col.about_url:
                subject = _iri(table, col.about_url, cells, n, col.name)
            if subject is None:
                continue
            assert col.property_url is not None
            predicate = _iri(table, col.property_url, cells, n, col.name)
            if predicate is None:
                continue
            if col.virtual:
                obj = _iri(table, col.value_url or "", cells, n, col.name)
                if obj is not None:
                    graph.add((subject, predicate, obj))
                continue
            for value in _cell_values(col, cells[col.name]):
                if col.value_url:
                    obj_iri = _iri(table, col.value_url, {**cells, col.name: value}, n, col.name)
                    if obj_iri is not None:
                        graph.add((subject, predicate, obj_iri))
                else:
                    graph.add((subject, predicate, _literal(table, col, value, n)))
    return graph
