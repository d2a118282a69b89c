"""The ``kg`` command: a thin face over the library (each verb calls one function).

Errors that users can fix print one line on stderr and exit with status 2 (bad input) or
1 (data that fails validation); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from kg.cli_options import Store, inputs_options, store_option
from kg.config import Settings
from kg.errors import KGError, ValidationFailed


class KGGroup(click.Group):
    """Turns :class:`KGError` into one readable line and a proper exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv[1:]
        try:
            return super().invoke(ctx)
        except KGError as e:
            if debug:
                raise
            if isinstance(e, ValidationFailed):
                click.echo(e.report, err=True)
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:
            if debug:
                raise
            click.echo(f"error: {e.__class__.__name__}: {e} (run with --debug for details)",
                       err=True)
            ctx.exit(1)


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(package_name="duikou-kg")
def main(debug: bool) -> None:
    """Duikou KG — the knowledge graph of east–west paired assistance (对口帮扶).

    Typical use: `kg build` then `kg serve`, or `kg query` and `kg export` offline.
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.command()
@inputs_options
@store_option
@click.option("--shapes", type=click.Path(path_type=Path), default=None,
              help="SHACL shapes. Default: shapes.ttl beside the ontology.")
@click.option("--no-validate", is_flag=True, help="Skip SHACL validation.")
@click.option("--reasoner", type=click.Choice(["fast", "owlrl", "none"]), default="fast",
              show_default=True,
              help="OWL 2 RL reasoner: owlrl (reference), fast (same closure, much faster), "
                   "none.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def build(ontology: tuple[Path, ...], data: tuple[Path, ...], store: Store,
          shapes: Path | None, no_validate: bool, reasoner: str, quiet: bool) -> None:
    """Build the store: load, validate, reason, store (atomically swapped in).

    With --store URL the graphs are uploaded to the SPARQL server (Graph Store Protocol,
    into staging graphs) and swapped in with one SPARQL Update once all are uploaded.
    """
    from kg.build import BuildOptions, run_build
    from kg.progress import ConsoleProgress

    options = BuildOptions(
        ontology=ontology or (Path("ontology"),),
        data=data or (Path("data"),),
        store=store,
        shapes=shapes,
        validate=not no_validate,
        reasoner=reasoner,
    )
    progress = ConsoleProgress(quiet=quiet)
    result = run_build(options, progress)
    progress.summary(result)


@main.command()
@click.argument("query_or_file")
@store_option
@click.option("--format", "-f", "fmt", default=None,
              help="table|json|xml|csv|tsv for SELECT/ASK, turtle|nt|jsonld|xml for graphs. "
                   "Default: table on a terminal, else json (turtle for graphs).")
@click.option("--no-inference", is_flag=True, help="Query the asserted graphs only.")
def query(query_or_file: str, store: Store, fmt: str | None, no_inference: bool) -> None:
    """Run a SPARQL query (text, a file, or - for stdin)."""
    from kg.query import is_graph_result, result_format, serialize, to_table
    from kg.store import open_store

    text = _read_query(query_or_file)
    db = open_store(store)
    try:
        result = db.query(text, inference=not no_inference)
    except SyntaxError as e:
        raise click.UsageError(f"malformed query: {e}") from None
    if fmt is None and not is_graph_result(result) and sys.stdout.isatty():
        fmt = "table"
    if fmt == "table":
        if is_graph_result(result):
            raise click.UsageError("--format table is for SELECT/ASK; use turtle|nt|jsonld|xml")
        _print_table(to_table(result))
        return
    try:
        chosen = result_format(result, fmt)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    sys.stdout.buffer.write(serialize(result, chosen))
    sys.stdout.buffer.flush()


def _read_query(query_or_file: str) -> str:
    if query_or_file == "-":
        return sys.stdin.read()
    path = Path(query_or_file)
    if len(query_or_file) < 4096 and "\n" not in query_or_file and path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.UsageError(f"cannot read {path}: {e}") from None
    return query_or_file


def _print_table(table: Any) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    t = RichTable(*table.columns, show_lines=False)
    for row in table.rows:
        t.add_row(*row)
    console = Console()
    console.print(t)
    console.print(f"{len(table.rows)} row(s)", style="dim")


@main.command()
@store_option
@click.option("--graph", "selection", default="all", show_default=True,
              type=click.Choice(["all", "asserted", "inferred", "ontology", "data",
                                 "reference", "links"]))
@click.option("--format", "-f", "fmt", default="turtle", show_default=True,
              type=click.Choice(["turtle", "nt", "nq", "trig", "jsonld", "xml"]))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Output file (default: stdout).")
def export(store: Store, selection: str, fmt: str, output: Path | None) -> None:
    """Export graphs as RDF (deterministic: the same store gives the same bytes)."""
    from kg.export import export as do_export
    from kg.store import open_store

    db = open_store(store)
    if output is None:
        do_export(db, selection, fmt, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    tmp = output.with_name(f".{output.name}.part")
    with open(tmp, "wb") as out:
        count = do_export(db, selection, fmt, out)
    tmp.replace(output)
    click.echo(f"wrote {count} triples to {output}", err=True)


@main.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(store: Store, as_json: bool) -> None:
    """Triples per named graph, instances per class, use per property."""
    import pyoxigraph as ox

    from kg.query import shorten
    from kg.stats import compute_stats
    from kg.store import open_store

    s = compute_stats(open_store(store))
    if as_json:
        click.echo(json.dumps(s.__dict__, ensure_ascii=False, indent=2))
        return
    for title, counts in (("triples per graph", s.graphs), ("instances per class", s.classes),
                          ("use per property", s.properties)):
        click.echo(f"# {title}")
        for iri, n in counts.items():
            click.echo(f"{n:>10}  {shorten(ox.NamedNode(iri))}")


@main.command()
@inputs_options
@click.option("--shapes", type=click.Path(path_type=Path), default=None,
              help="SHACL shapes. Default: shapes.ttl beside the ontology.")
def validate(ontology: tuple[Path, ...], data: tuple[Path, ...], shapes: Path | None) -> None:
    """Validate the data against the SHACL shapes (writes no store)."""
    from kg.build import BuildOptions, validate_inputs

    report = validate_inputs(BuildOptions(ontology=ontology or (Path("ontology"),),
                                          data=data or (Path("data"),), shapes=shapes))
    if not report.conforms:
        raise ValidationFailed(report.text(), len(report.violations))
    click.echo(report.text())


@main.command()
@store_option
@click.option("--host", envvar="KG_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on; env KG_HOST.")
@click.option("--port", envvar="KG_PORT", type=int, default=8000, show_default=True,
              help="Port to listen on; env KG_PORT.")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: number of cores); env KG_WORKERS.")
@click.option("--threads", type=int, default=None,
              help="Threads per worker (default: max-inflight + 2); env KG_THREADS.")
@click.option("--query-timeout", type=float, default=None,
              help="Seconds a query may run before a 503 (default 30); env KG_QUERY_TIMEOUT.")
@click.option("--max-rows", type=int, default=None,
              help="Most result rows or triples per response (default 100000); "
                   "env KG_MAX_ROWS.")
@click.option("--max-body", type=int, default=None,
              help="Largest request body in bytes (default 1 MiB); env KG_MAX_BODY.")
@click.option("--max-inflight", type=int, default=None,
              help="Queries evaluated at once per worker (default 4); env KG_MAX_INFLIGHT.")
@click.option("--queue-timeout", type=float, default=None,
              help="Seconds a query waits for a slot before a 503 (default 5); "
                   "env KG_QUEUE_TIMEOUT.")
@click.option("--cache-mb", type=int, default=None,
              help="Memory per worker for answers to repeated queries, keyed by build "
                   "(default 64; 0: off); env KG_CACHE_MB.")
@click.option("--update-token", default=None,
              help="Enables SPARQL Update for this bearer token; env KG_UPDATE_TOKEN.")
@click.option("--cors-origins", default=None,
              help="'*' (default), comma-separated origins, or '' for no CORS; "
                   "env KG_CORS_ORIGINS.")
@click.option("--service-allow", default=None,
              help="Endpoint IRIs SERVICE/LOAD may call, or 'none' (default: the Wikidata "
                   "Query Service); env KG_SERVICE_ALLOW.")
@click.option("--access-log", default=None,
              help="Access log file, '-' for stdout (default), '' for none; env KG_ACCESS_LOG.")
@click.option("--dev", is_flag=True, help="Flask's development server with reloader.")
def serve(store: Store, host: str, port: int, dev: bool, **options: Any) -> None:
    """Serve the store over the SPARQL 1.1 Protocol (granian; --dev for Flask's).

    Every option defaults to its KG_* environment variable, then to the default shown;
    docs/endpoint.md describes the HTTP API.
    """
    from kg.federation import parse_allow_list
    from kg.store import check_store
    from kg.web.server import serve as run_server

    check_store(store)  # fail here, readably, if there is no usable store (workers open it)
    _probe_store(store)
    try:
        settings = Settings.from_env(store=store, host=host, port=port, **options)
        parse_allow_list(settings.service_allow)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    run_server(settings, dev=dev)


def _probe_store(store: Any) -> None:
    """Open the store's database once in a short-lived child process, so that a corrupt,
    empty or unreadable database is one clear line now rather than a worker that fails to
    boot with a traceback. The parent never opens it: RocksDB state must not cross the
    fork to the workers."""
    import os

    from kg.errors import StoreError
    from kg.store import open_store

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: open, report, exit without running any cleanup
        os.close(read_end)
        code = 0
        try:
            open_store(store)
        except BaseException as e:
            text = str(e) if isinstance(e, KGError) else \
                f"cannot open the store at {store}: {e.__class__.__name__}: {e}"
            os.write(write_end, text.encode("utf-8", "replace")[:2000])
            code = 2
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode("utf-8", "replace").strip()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise StoreError(message or f"cannot open the store at {store}")


def _register_commands() -> None:
    """Verbs defined beside their library, added to the group here."""
    from kg.cli_linking import import_, link

    main.add_command(link)
    main.add_command(import_)


_register_commands()
