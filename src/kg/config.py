"""Configuration, defined once: every setting with its default and its ``KG_*`` variable.

CLI flags override the environment; the environment overrides the defaults below. The
README's configuration table lists the same settings (a test keeps them in step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class RemoteLocation:
    """A SPARQL 1.1 server used as the store (``--store URL``).

    ``query`` is its SPARQL 1.1 query endpoint; ``update`` and ``data`` its SPARQL 1.1
    Update and Graph Store HTTP Protocol endpoints where the server puts them elsewhere
    (None: found from the server, see :mod:`kg.remote`). Credentials are never part of it.

    >>> store_location("http://127.0.0.1:8890/sparql")
    RemoteLocation(query='http://127.0.0.1:8890/sparql', update=None, data=None)
    >>> store_location("var/store")
    PosixPath('var/store')
    """

    query: str
    update: str | None = None
    data: str | None = None

    def __str__(self) -> str:
        return self.query


StoreLocation = Path | RemoteLocation
"""Where the store is: a ``--store`` folder, or a SPARQL server."""


def is_remote(location: object) -> bool:
    """True for a SPARQL server's URL (``http://``/``https://``) or a RemoteLocation."""
    return isinstance(location, RemoteLocation) or (
        isinstance(location, str) and location.startswith(("http://", "https://")))


def store_location(value: str | Path | RemoteLocation, *, update: str | None = None,
                   data: str | None = None) -> Path | RemoteLocation:
    """A ``--store`` value as a folder, or as a server with its update and data endpoints.

    The endpoints given here fill in what ``value`` does not already say.
    """
    if isinstance(value, RemoteLocation):
        return replace(value, update=value.update or update or None,
                       data=value.data or data or None)
    if is_remote(value):
        return RemoteLocation(str(value), update or None, data or None)
    return Path(value)


@dataclass
class Settings:
    """Settings of the store and the server."""

    store: Path | RemoteLocation = field(default=Path("var/store"), metadata={
        "env": "KG_STORE",
        "help": "The store folder (a link to the current build), or the query endpoint URL "
                "of a SPARQL 1.1 server."})
    store_update: str | None = field(default=None, metadata={
        "env": "KG_STORE_UPDATE",
        "help": "SPARQL 1.1 Update endpoint of a remote store, where it is not the query "
                "endpoint (Virtuoso: /sparql-auth; found from the server when unset)."})
    store_data: str | None = field(default=None, metadata={
        "env": "KG_STORE_DATA",
        "help": "Graph Store HTTP Protocol endpoint of a remote store (Virtuoso: "
                "/sparql-graph-crud-auth; found from the server when unset)."})
    store_user: str | None = field(default=None, repr=False, metadata={
        "env": "KG_STORE_USER",
        "help": "User name for a remote store that asks for authentication (Basic or "
                "Digest); else taken from a netrc file."})
    store_password: str | None = field(default=None, repr=False, metadata={
        "env": "KG_STORE_PASSWORD",
        "help": "Password for KG_STORE_USER (environment only, never a flag)."})
    queries_dir: Path = field(default=Path("queries"), metadata={
        "env": "KG_QUERIES_DIR",
        "help": "Folder of competency questions offered as examples in the web UI."})
    host: str = field(default="127.0.0.1", metadata={
        "env": "KG_HOST", "help": "Address the server listens on."})
    port: int = field(default=8000, metadata={
        "env": "KG_PORT", "help": "Port the server listens on."})
    workers: int = field(default_factory=_cores, metadata={
        "env": "KG_WORKERS", "help": "Worker processes of `kg serve` (default: cores)."})
    threads: int = field(default=0, metadata={
        "env": "KG_THREADS",
        "help": "Threads per worker (0: KG_MAX_INFLIGHT + 2, so that surplus requests "
                "are answered 503 rather than left waiting)."})
    query_timeout: float = field(default=30.0, metadata={
        "env": "KG_QUERY_TIMEOUT",
        "help": "Seconds a query may take, evaluation and serialisation; then 503."})
    max_rows: int = field(default=100_000, metadata={
        "env": "KG_MAX_ROWS",
        "help": "Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) in one response; "
                "longer results are cut and say so in X-KG-Truncated."})
    max_body: int = field(default=1024 * 1024, metadata={
        "env": "KG_MAX_BODY", "help": "Largest request body (and query string) in bytes."})
    max_inflight: int = field(default=4, metadata={
        "env": "KG_MAX_INFLIGHT", "help": "Queries evaluated at once per worker process."})
    queue_timeout: float = field(default=5.0, metadata={
        "env": "KG_QUEUE_TIMEOUT",
        "help": "Seconds a query waits for a free slot before a 503 with Retry-After."})
    cache_mb: int = field(default=64, metadata={
        "env": "KG_CACHE_MB",
        "help": "Memory per worker for answers to repeated queries, keyed by build (0: off)."})
    update_token: str | None = field(default=None, metadata={
        "env": "KG_UPDATE_TOKEN",
        "help": "Enables SPARQL Update for requests bearing this token (unset: no updates)."})
    cors_origins: str = field(default="*", metadata={
        "env": "KG_CORS_ORIGINS",
        "help": "Origins allowed by CORS: '*', a comma-separated list, or empty for none."})
    service_allow: str | None = field(default=None, metadata={
        "env": "KG_SERVICE_ALLOW",
        "help": "Endpoint IRIs that SERVICE (and LOAD) may call, separated by commas or "
                "spaces; 'none' for no outbound requests at all. Unset: the Wikidata Query "
                "Service only (see kg.federation)."})
    access_log: str = field(default="-", metadata={
        "env": "KG_ACCESS_LOG",
        "help": "Access log file of `kg serve` ('-': standard output; empty: none)."})

    def __post_init__(self) -> None:
        self.store = store_location(self.store, update=self.store_update, data=self.store_data)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``KG_*`` variables, then ``overrides`` (None values are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if name in env and env[name] != "":
                values[f.name] = _convert(f.type, env[name], name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _convert(type_name: object, raw: str, env_name: str) -> object:
    text = str(type_name)
    try:
        if text.startswith("int"):
            return int(raw)
        if text.startswith("float"):
            return float(raw)
        if text.startswith("Path | RemoteLocation"):
            return store_location(raw)
        if text.startswith("Path"):
            return Path(raw)
    except ValueError:
        raise ValueError(f"{env_name}={raw!r} is not a valid {text}") from None
    return raw
