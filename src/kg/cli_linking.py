"""``kg link`` and ``kg import``: thin faces over :mod:`kg.linking` and :mod:`kg.importing`.

Registered in :mod:`kg.cli` with ``main.add_command(link)`` and ``main.add_command(import_)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kg.cli_options import Store, store_option

TARGET_HELP = ("The external graph: a SPARQL endpoint URL (http/https, e.g. "
               "https://query.wikidata.org/sparql) or an RDF file.")
TIMEOUT_HELP = "Seconds each request to an endpoint may take."


@click.command()
@click.option("--target", required=True, help=TARGET_HELP)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Turtle file for the accepted links. Default: "
                   "data/links/discovered-{source}.ttl (the source named after the target).")
@store_option
@click.option("--timeout", type=float, default=60.0, show_default=True, help=TIMEOUT_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print the full report (links, ambiguous, unmatched) as JSON on stdout.")
def link(target: str, output: Path | None, store: Store, timeout: float, as_json: bool) -> None:
    """Discover links from our divisions to an external graph (code first, then names).

    Writes only the links it is sure of, each with its method and score, and reports the
    divisions it left unmatched or found ambiguous instead of guessing.
    """
    from kg.linking import link as discover_links
    from kg.linking import source_name, write_links
    from kg.store import open_store

    report = discover_links(open_store(store), target, timeout=timeout)
    out = output or Path("data/links") / f"discovered-{source_name(target)}.ttl"
    count = write_links(report, out)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    click.echo(f"{count} link(s) written to {out}; {len(report.already_linked)} already "
               f"linked; {len(report.ambiguous)} ambiguous; {len(report.unmatched)} unmatched",
               err=True)
    for code, reasons in sorted(report.ambiguous.items()):
        click.echo(f"ambiguous {code}: " + "; ".join(reasons), err=True)
    if report.unmatched:
        click.echo("unmatched: " + " ".join(report.unmatched), err=True)


@click.command(name="import")
@click.option("--target", required=True, help=TARGET_HELP)
@click.option("--source", default=None,
              help="Short name of the source: the graph is …/graph/external/{source}. "
                   "Default: named after the target (wikidata for query.wikidata.org).")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="TriG file to write. Default: data/external/{source}.trig, which "
                   "`kg build` loads into the same named graph.")
@store_option
@click.option("--apply/--no-apply", default=False, show_default=True,
              help="Also replace the graph in the current store now (a new generation).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help=TIMEOUT_HELP)
def import_(target: str, source: str | None, output: Path | None, store: Store, apply: bool,
            timeout: float) -> None:
    """Import population, area, coordinates and websites of linked divisions, with provenance."""
    from kg.importing import import_facts
    from kg.linking import source_name

    name = source or source_name(target)
    out = output or Path("data/external") / f"{name}.trig"
    result = import_facts(store, target, source=name, out=out, apply=apply, timeout=timeout)
    click.echo(f"{result.facts} fact(s) about {result.entities} linked entities into "
               f"<{result.graph}>, written to {out}" + ("; applied to the store" if apply
                                                        else ""), err=True)
