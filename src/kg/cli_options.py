"""Options shared by several ``kg`` verbs, defined once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from kg.config import RemoteLocation, store_location

STORE_HELP = ("The store folder (a link to the current build), or the query endpoint URL of "
              "a SPARQL 1.1 server (credentials: KG_STORE_USER/KG_STORE_PASSWORD or "
              "netrc); env KG_STORE.")
Store = Path | RemoteLocation
"""What a verb gets for ``--store``: a folder or a server."""


def store_option(f: Any) -> Any:
    """``--store`` (folder or server URL), with ``--store-update`` and ``--store-data`` for
    a server that puts its Update and Graph Store endpoints elsewhere; the verb receives
    one ``store`` value, a :class:`~pathlib.Path` or a :class:`~kg.config.RemoteLocation`.
    There is deliberately no password option: credentials never go on a command line."""

    @functools.wraps(f)
    def with_store(*args: Any, store: str, store_update: str | None, store_data: str | None,
                   **kwargs: Any) -> Any:
        return f(*args, store=store_location(store, update=store_update, data=store_data),
                 **kwargs)

    with_store = click.option(
        "--store-data", envvar="KG_STORE_DATA", default=None, metavar="URL",
        help="Graph Store HTTP Protocol endpoint of the server, where it is not found from "
             "the server (Virtuoso: …/sparql-graph-crud-auth); env KG_STORE_DATA.",
    )(with_store)
    with_store = click.option(
        "--store-update", envvar="KG_STORE_UPDATE", default=None, metavar="URL",
        help="SPARQL 1.1 Update endpoint of the server, where it is not found from the "
             "server (Virtuoso: …/sparql-auth); env KG_STORE_UPDATE.",
    )(with_store)
    return click.option(
        "--store", envvar="KG_STORE", default="var/store", show_default=True,
        metavar="DIR|URL", help=STORE_HELP,
    )(with_store)


def inputs_options(f: Any) -> Any:
    """``--ontology`` and ``--data``, as ``kg build`` and ``kg validate`` take them.

    Readability is checked by the loader, which says which file it could not read.
    """
    path = click.Path(path_type=Path, readable=False)
    f = click.option("--data", "data", type=path, multiple=True,
                     help="Data file or folder (repeatable). Default: data/")(f)
    return click.option("--ontology", "ontology", type=path, multiple=True,
                        help="Ontology file or folder (repeatable). Default: ontology/")(f)
