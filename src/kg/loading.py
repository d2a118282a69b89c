"""Reading the inputs of a build: RDF files of every common syntax, and CSVW tables.

Files are chosen by extension (a ``.gz`` suffix is read through gzip) and parsed with
pyoxigraph, whose syntax errors carry the exact line and column. Each file lands in one
of the named graphs of the public contract, decided by where it lies (see
:func:`graph_for`); quad formats keep the graph names they give.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError
from kg.namespaces import Graphs
from kg.terms import graph_to_quads

log = logging.getLogger(__name__)

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".ntriples": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".nquads": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".n3": ox.RdfFormat.N3,
}
"""File extension → RDF syntax."""

TABLE_METADATA_SUFFIX = ".csv-metadata.json"
"""CSVW's naming convention: ``x.csv`` is described by ``x.csv-metadata.json``."""

DOCUMENTATION_SUFFIXES = {".md", ".txt", ".rst"}
"""Files in input folders that are prose for people, not input, and are skipped."""

NOT_ONTOLOGY = {"shapes.ttl", "context.jsonld"}
"""Files in the ontology folder that are not part of the ontology itself."""


@dataclass(frozen=True)
class InputFile:
    """One input file and the named graph its triples go to."""

    path: Path
    graph: str
    kind: str  # "rdf" or "table"


@dataclass
class LoadReport:
    """What a load read: the files in order, and triples per named graph."""

    files: list[InputFile] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def rdf_format(path: Path) -> ox.RdfFormat | None:
    """The RDF syntax of ``path`` by its extension (ignoring ``.gz``), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return RDF_FORMATS.get(suffixes[-1]) if suffixes else None


def graph_for(path: Path, role: str) -> str:
    """The named graph for a file: the ontology graph for ``role="ontology"``; for data,
    the reference graph below a ``reference/`` folder, the links graph below ``links/``,
    else the data graph."""
    if role == "ontology":
        return str(Graphs.ONTOLOGY)
    parts = {p.lower() for p in path.parts[:-1]}
    if "reference" in parts:
        return str(Graphs.REFERENCE)
    if "links" in parts:
        return str(Graphs.LINKS)
    return str(Graphs.DATA)


def discover(paths: Sequence[Path], role: str) -> list[InputFile]:
    """Every input file named by ``paths`` (folders are searched recursively), in a stable
    order. Raises :class:`InputError` for a missing path, an unknown extension, a table
    without CSVW metadata, or when nothing is found."""
    found: list[InputFile] = []
    for root in paths:
        if not root.exists():
            raise InputError("no such file or folder", root)
        if root.is_dir():
            candidates = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root))
            for p in candidates:
                item = _classify(p, role, in_folder=True)
                if item is not None:
                    found.append(item)
        else:
            item = _classify(root, role, in_folder=False)
            if item is not None:
                found.append(item)
    if not found:
        names = ", ".join(str(p) for p in paths) or "(none)"
        raise InputError(f"no {role} input found in {names}")
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _classify(path: Path, role: str, *, in_folder: bool) -> InputFile | None:
    name = path.name.lower()
    if in_folder and role == "ontology" and name in NOT_ONTOLOGY:
        return None
    if name.endswith(TABLE_METADATA_SUFFIX):
        return InputFile(path, graph_for(path, role), "table")
    if rdf_format(path) is not None:
        return InputFile(path, graph_for(path, role), "rdf")
    if path.suffix.lower() == ".csv":
        if path.with_name(path.name + "-metadata.json").exists():
            return None  # read through its metadata file
        raise InputError(
            f"a table needs CSVW metadata beside it ({path.name}-metadata.json)", path
        )
    if in_folder and path.suffix.lower() in DOCUMENTATION_SUFFIXES:
        return None
    known = ", ".join(sorted(RDF_FORMATS)) + f", {TABLE_METADATA_SUFFIX}"
    raise InputError(f"unknown file extension {path.suffix or '(none)'!r}; expected one of {known}",
                     path)


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, decompressed when it ends in ``.gz``."""
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except PermissionError as e:
        raise InputError("cannot read the file (permission denied)", path) from e
    except (OSError, EOFError) as e:
        raise InputError(f"cannot read the file ({e.__class__.__name__}: {e})", path) from e


def _rdf_bytes(path: Path) -> tuple[bytes, ox.RdfFormat]:
    """The content of an RDF file and its syntax; refuses unknown syntaxes and empty files."""
    fmt = rdf_format(path)
    if fmt is None:
        raise InputError("not an RDF file", path)
    data = read_bytes(path)
    if not data.strip():
        raise InputError("the file is empty", path)
    return data, fmt


def _syntax_error(path: Path, fmt: ox.RdfFormat, e: Exception) -> InputError:
    if isinstance(e, SyntaxError):
        message = str(e.msg if hasattr(e, "msg") and e.msg else e)
        return InputError(f"syntax error: {message}", path, e.lineno, e.offset)
    return InputError(f"cannot parse as {fmt}: {e}", path)


def _parse(data: bytes, fmt: ox.RdfFormat, path: Path) -> list[ox.Quad]:
    try:
        return list(ox.parse(data, format=fmt, base_iri=path.resolve().as_uri()))
    except (SyntaxError, ValueError) as e:
        raise _syntax_error(path, fmt, e) from e


def parse_rdf(path: Path) -> list[ox.Quad]:
    """All quads of one RDF file; triples come in the default graph."""
    data, fmt = _rdf_bytes(path)
    return _parse(data, fmt, path)


def _load_rdf(db: ox.Store, item: InputFile, counts: dict[str, int]) -> int:
    """Load one RDF file into ``db``: a triple syntax straight into the file's graph (parsed
    in pyoxigraph, no Python objects per triple), a quad syntax keeping the graph names it
    gives. Adds to ``counts`` (per graph) and returns the triples ``db`` gained; raises when
    the file holds none."""
    data, fmt = _rdf_bytes(item.path)
    target = ox.NamedNode(item.graph)
    before = len(db)
    if fmt.supports_datasets:
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, target)
            if isinstance(q.graph_name, ox.DefaultGraph) else q
            for q in _parse(data, fmt, item.path)
        ]
        if not quads:
            raise InputError("the file holds no triples", item.path)
        db.bulk_extend(quads)
        for q in quads:
            name = q.graph_name.value
            counts[name] = counts.get(name, 0) + 1
        return len(db) - before
    try:
        db.bulk_load(data, format=fmt, base_iri=item.path.resolve().as_uri(), to_graph=target)
    except (SyntaxError, ValueError) as e:
        raise _syntax_error(item.path, fmt, e) from e
    gained = len(db) - before
    if not gained and not _parse(data, fmt, item.path):
        raise InputError("the file holds no triples", item.path)
    counts[item.graph] = counts.get(item.graph, 0) + gained
    return gained


def load_into(
    db: ox.Store,
    ontology: Iterable[Path],
    data: Iterable[Path],
    on_file: Callable[[InputFile, int], None] | None = None,
) -> LoadReport:
    """Parse the ontology and data inputs into their named graphs of ``db``.

    A bad file raises :class:`InputError` naming itself with its line and column. The
    counts are of triples ``db`` gained (a triple given twice in a triple syntax counts
    once); ``on_file`` is called after each file with that number, so that the caller can
    show progress.
    """
    report = LoadReport()
    files = discover(list(ontology), "ontology") + discover(list(data), "data")
    for item in files:
        if item.kind == "table":
            quads = read_table_quads(item)
            if not quads:
                raise InputError("the file holds no triples", item.path)
            target = ox.NamedNode(item.graph)
            before = len(db)
            db.bulk_extend([ox.Quad(q.subject, q.predicate, q.object, target) for q in quads])
            added = len(db) - before
            report.counts[item.graph] = report.counts.get(item.graph, 0) + added
        else:
            added = _load_rdf(db, item, report.counts)
        report.files.append(item)
        log.debug("read %s: %d triples into <%s>", item.path, added, item.graph)
        if on_file is not None:
            on_file(item, added)
    return report


def read_table_quads(item: InputFile) -> list[ox.Quad]:
    """The triples of a CSVW-described table, as quads in the default graph."""
    from kg import tables  # imported lazily: only builds with tables need it

    try:
        g = tables.read_table(item.path)
    except (ValueError, OSError, KeyError) as e:
        raise InputError(str(e), item.path) from e
    return graph_to_quads(g)
