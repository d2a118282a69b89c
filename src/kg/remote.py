"""A SPARQL 1.1 server as the store (``--store URL``): Virtuoso, Oxigraph server, Fuseki, …

:class:`RemoteStore` implements the :class:`kg.store.Store` interface over the standard
protocols, so the CLI, the exports and the web pages use a server exactly as they use the
embedded store:

- queries go to the SPARQL 1.1 Protocol endpoint as ``GET`` (form ``POST`` for long ones;
  never an ``application/sparql-query`` body, which Virtuoso 7.2 leaves unanswered), always
  with client time-outs, and come back as pyoxigraph's own result types;
- the dataset is always named: servers differ on what the default graph is (Virtuoso's is
  the union of every graph, its own system graphs included), so each query lists the
  build's graphs as ``default-graph-uri``/``named-graph-uri``, as the embedded store's
  union default graph would see them;
- ``kg build --store URL`` uploads each named graph with the Graph Store HTTP Protocol into
  a staging graph, in batches and with retries, checks the staging graphs' triple counts,
  then replaces every graph and the build description in one SPARQL 1.1 Update
  (``MOVE``), and checks the counts again. A failure before the swap leaves the previous
  graphs answering;
- the build description (:class:`kg.store.BuildInfo`) lives in the graph
  ``https://w3id.org/duikou/graph/build``, read again at most once a second.

Credentials come from ``KG_STORE_USER``/``KG_STORE_PASSWORD`` or a netrc file, never from
the command line, and are sent only when the server asks (Digest or Basic, as it asks).
Where the server deviates from the standard the adapter smooths it over; see
``docs/remote-stores.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyoxigraph as ox
import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth
from requests.hooks import default_hooks
from requests.utils import get_netrc_auth

from kg.config import RemoteLocation
from kg.errors import StoreError
from kg.namespaces import GRAPH, Graphs
from kg.sparqltext import has_dataset_clause, operation
from kg.store import BuildInfo, QueryResult, QueryTimeout, Term

log = logging.getLogger(__name__)

BUILD_GRAPH = str(GRAPH["build"])
"""The graph holding the current build's description on a remote store."""
DESCRIPTION = "http://purl.org/dc/terms/description"
IDENTIFIER = "http://purl.org/dc/terms/identifier"
CREATED = "http://purl.org/dc/terms/created"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
UNION_ASSERTED = str(GRAPH["union/asserted"])
UNION_ALL = str(GRAPH["union/all"])
"""Graphs holding the merge of the asserted graphs (and of all graphs, when the inferred
graph repeats asserted triples): the default graph of queries. Naming several graphs as
the default graph would do on a standard server, but Virtuoso then returns a triple once
per graph holding it, where the RDF merge has it once."""
NO_GRAPH = "urn:x-duikou:no-graph"
"""Named as the default graph when a dataset must be empty (an empty list would mean
'the server's default')."""

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0
"""Seconds to wait for an answer when no query time limit applies (the CLI)."""
PAGE = 10_000
"""Rows fetched per request when reading a whole graph (Virtuoso's default
``ResultSetMaxRows`` is 10000)."""
BATCH = 50_000
"""Triples uploaded per Graph Store request."""
RETRIES = 4
GET_LIMIT = 2000
"""Longest query string sent with GET; longer queries are sent as a form POST."""
RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"


class Progress(Protocol):
    def start(self, stage: str) -> None: ...

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None: ...


# --- credentials ----------------------------------------------------------------------------

def credentials(url: str) -> tuple[str, str] | None:
    """``(user, password)`` for ``url``: ``KG_STORE_USER``/``KG_STORE_PASSWORD``, else the
    netrc entry of the URL's host (``NETRC`` or ``~/.netrc``), else None."""
    from kg.config import Settings

    try:
        settings = Settings.from_env()
        user, password = settings.store_user, settings.store_password
    except ValueError:  # another KG_* variable is malformed; the credentials may still do
        user, password = os.environ.get("KG_STORE_USER"), os.environ.get("KG_STORE_PASSWORD")
    if user:
        return user, password or ""
    found = get_netrc_auth(url)
    return (found[0], found[1]) if found else None


class ServerAuth(AuthBase):
    """Sends no credentials until the server asks, then answers its challenge.

    The first ``401`` tells which scheme the server wants (Virtuoso: Digest); from then on
    requests use that scheme. Without credentials a ``401`` is passed on as it is.
    """

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user = user
        self.password = password or ""
        self.scheme: str | None = None
        self._digest = HTTPDigestAuth(user or "", self.password)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.user is None:
            return r
        if self.scheme == "digest":
            return self._digest(r)
        if self.scheme == "basic":
            return HTTPBasicAuth(self.user, self.password)(r)
        r.register_hook("response", self._challenged)
        return r

    def _challenged(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
        if resp.status_code != 401 or self.scheme is not None:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "").lower()
        if challenge.startswith("digest") or ", digest" in challenge:
            self.scheme = "digest"
        elif "basic" in challenge:
            self.scheme = "basic"
        else:
            return resp
        _ = resp.content
        resp.close()
        prep = resp.request.copy()
        prep.hooks = default_hooks()
        prep = self(prep)  # Digest registers its own 401 handler, which a session runs
        with requests.Session() as session:
            again = session.send(prep, **kwargs)
        again.history.insert(0, resp)
        return again


# --- query text that servers misread ------------------------------------------------------

_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_ESCAPED_NAME = re.compile(
    rf"(?<![\w<:])([A-Za-z][\w\-.]*)?:((?:[\w\-.:%]|{_ESC})*{_ESC}(?:[\w\-.:%]|{_ESC})*)")
_PREFIX_DECL = re.compile(r"PREFIX\s+([A-Za-z][\w\-.]*)?:\s*<([^<>\s]*)>", re.IGNORECASE)
_GARBLING_CALLS = frozenset({"CONCAT", "REPLACE"})


def _unprotected(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, is_string_or_iri)`` spans covering ``text``."""
    from kg.sparqltext import tokens

    spans: list[tuple[int, int, bool]] = []
    pos = 0
    for tok in tokens(text):
        if tok.kind in ("string", "iri"):
            spans.append((pos, tok.start, False))
            spans.append((tok.start, tok.start + len(tok.text), True))
            pos = tok.start + len(tok.text)
    spans.append((pos, len(text), False))
    return spans


def expand_escaped_names(text: str) -> str:
    """Prefixed names with escaped characters (``dkid:indicator\\/x``) written as full
    IRIs: Virtuoso 7.2 rejects the escapes (``Bad character '\\'``).

    >>> expand_escaped_names("PREFIX d: <http://x/> SELECT * { ?s ?p d:a\\/b }")
    'PREFIX d: <http://x/> SELECT * { ?s ?p <http://x/a/b> }'
    """
    if "\\" not in text:
        return text
    prefixes = {p or "": iri for p, iri in _PREFIX_DECL.findall(text)}

    def expand(m: re.Match) -> str:
        prefix, local = m.group(1) or "", m.group(2)
        trail = len(local) - len(local.rstrip("."))
        local = local.rstrip(".")
        if prefix not in prefixes:
            return m.group(0)
        iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        return f"<{iri}>" + "." * trail

    return "".join(text[a:b] if protected else _ESCAPED_NAME.sub(expand, text[a:b])
                   for a, b, protected in _unprotected(text))


def shield_constants(text: str) -> str:
    """Non-ASCII string constants inside ``CONCAT(…)`` and ``REPLACE(…)`` wrapped in
    ``SUBSTR(…, 1)``, which is the same string: Virtuoso 7.2 mixes such a constant with
    the stored strings wrongly and garbles them (openlink/virtuoso-opensource#944)."""
    from kg.sparqltext import tokens

    if text.isascii():
        return text
    stack: list[bool] = []
    previous = None
    edits: list[tuple[int, int]] = []
    for tok in tokens(text):
        if tok.text == "(":
            word = previous.keyword if previous is not None else None
            stack.append(word in _GARBLING_CALLS or (bool(stack) and stack[-1]))
        elif tok.text == ")" and stack:
            stack.pop()
        elif tok.kind == "string" and stack and stack[-1] and not tok.text.isascii():
            edits.append((tok.start, tok.start + len(tok.text)))
        previous = tok
    for start, end in reversed(edits):
        rest = text[end:]
        m = re.match(r"(@[A-Za-z][\w-]*|\^\^(?:<[^<>]*>|[\w\-.]*:[\w\-.]*))?", rest)
        end += len(m.group(0)) if m else 0
        text = f"{text[:start]}SUBSTR({text[start:end]}, 1){text[end:]}"
    return text


def distinct_paths(text: str) -> str:
    """Each plain triple pattern ``S P+ O`` wrapped in ``{ SELECT DISTINCT … }``, which is
    what the standard makes it: Virtuoso 7.2 returns such a path once per route, where
    SPARQL 1.1 returns each pair of ends once. (``S P ?x`` binds the start inside the
    subquery, as Virtuoso requires; it holds wherever ``S P+ O`` does.)

    >>> distinct_paths("SELECT * { ?c <p>+ ?p . }")
    'SELECT * { { SELECT DISTINCT ?c ?p WHERE { ?c <p> ?kg_path_0 . ?c <p>+ ?p } } . }'
    """
    from kg.sparqltext import tokens

    if "+" not in text:
        return text
    toks = list(tokens(text))
    edits: list[tuple[int, int, str]] = []
    term_kinds = ("var", "iri", "word")
    for i in range(len(toks) - 4):
        s, p, op, o, after = toks[i:i + 5]
        before = toks[i - 1].text if i else "{"
        if (before in ("{", ".", "}") and s.kind in term_kinds and p.kind in ("iri", "word")
                and op.text == "+" and op.start == p.start + len(p.text)
                and o.kind in term_kinds and after.text in (".", "}")
                and s.keyword is None and o.keyword is None):
            variables = " ".join(dict.fromkeys(t.text for t in (s, o) if t.kind == "var"))
            if not variables:
                continue
            end = o.start + len(o.text)
            pattern = text[s.start:end]
            first = f"{s.text} {p.text} ?kg_path_{len(edits)} . "
            edits.append((s.start, end,
                          f"{{ SELECT DISTINCT {variables} WHERE {{ {first}{pattern} }} }}"))
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


def datatype_of_tagged(text: str) -> str:
    """``DATATYPE(x)`` written so that a language-tagged string gives ``rdf:langString``,
    as SPARQL 1.1 says; Virtuoso 7.2 leaves it unbound (the SPARQL 1.0 rule).

    >>> datatype_of_tagged("SELECT (DATATYPE(?o) AS ?t) {}").split(", <")[0]
    'SELECT (IF(langMatches(LANG(?o), "*")'
    """
    from kg.sparqltext import tokens

    if "datatype" not in text.lower():
        return text
    toks = list(tokens(text))
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(toks[:-1]):
        if tok.keyword != "DATATYPE" or toks[i + 1].text != "(":
            continue
        depth = 0
        for close in toks[i + 1:]:
            depth += {"(": 1, ")": -1}.get(close.text, 0)
            if depth == 0:
                break
        else:
            return text  # unbalanced: leave it to the server to report
        arg = text[toks[i + 1].start + 1:close.start]
        edits.append((tok.start, close.start + 1,
                      f'IF(langMatches(LANG({arg}), "*"), <{RDF_LANGSTRING}>, '
                      f"DATATYPE({arg}))"))
    for start, end, replacement in reversed(edits):
        if any(a < start < b for a, b, _ in edits):
            continue  # nested in another DATATYPE(…), rewritten with it
        text = text[:start] + replacement + text[end:]
    return text


# --- results --------------------------------------------------------------------------------

_BNODE_CHARS = re.compile(r"[^A-Za-z0-9_]")


def bnode_label(value: str) -> str:
    """A blank node label pyoxigraph accepts, for a server's own (Virtuoso's are
    ``nodeID://b10000``); the same input always gives the same label."""
    label = _BNODE_CHARS.sub("_", value)
    return label if label[:1].isalpha() else "b" + label


def _normalise_term(term: dict) -> dict:
    kind = term.get("type")
    if kind == "typed-literal":  # Virtuoso's JSON, from the 2007 draft of the format
        term = {**term, "type": "literal"}
    elif kind == "bnode":
        term = {**term, "value": bnode_label(term["value"])}
    elif kind == "triple":
        term = {**term, "value": {k: _normalise_term(v) for k, v in term["value"].items()}}
    if term.get("type") == "literal" and term.get("xml:lang"):
        term.pop("datatype", None)
    if term.get("datatype") == XSD_BOOLEAN and term.get("value") in ("1", "0"):
        term = {**term, "value": "true" if term["value"] == "1" else "false"}  # Virtuoso's
    return term


def parse_json_results(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    """SPARQL JSON results, normalised (legacy ``typed-literal``, server blank node
    labels, extra keys), as pyoxigraph results."""
    data = json.loads(body)
    if "boolean" in data:
        clean: dict = {"head": {}, "boolean": bool(data["boolean"])}
    else:
        bindings = [{var: _normalise_term(term) for var, term in row.items()}
                    for row in data.get("results", {}).get("bindings", [])]
        clean = {"head": {"vars": data.get("head", {}).get("vars", [])},
                 "results": {"bindings": bindings}}
    return ox.parse_query_results(json.dumps(clean).encode(),
                                  format=ox.QueryResultsFormat.JSON)


def parse_xml_results(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    fixed = re.sub(rb"<bnode>([^<]*)</bnode>",
                   lambda m: b"<bnode>" + bnode_label(m.group(1).decode()).encode()
                   + b"</bnode>", body)
    return ox.parse_query_results(fixed, format=ox.QueryResultsFormat.XML)


def as_query_triples(triples: Iterable[ox.Triple]) -> ox.QueryTriples:
    """Triples as a pyoxigraph ``QueryTriples``, the type the embedded store's
    ``CONSTRUCT`` and ``DESCRIBE`` give (through a small in-memory store)."""
    mem = ox.Store()
    mem.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return mem.query("CONSTRUCT WHERE { ?s ?p ?o }")


def _media_type(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _server_message(resp: requests.Response, limit: int = 600) -> str:
    text = resp.text.strip()
    text = re.sub(r"\s*SPARQL query:.*", "", text, flags=re.DOTALL)  # Virtuoso echoes it
    return " ".join(text.split())[:limit] or resp.reason


def _sibling(url: str, name: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0] + "/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


# --- the store ------------------------------------------------------------------------------

class RemoteStore:
    """A SPARQL 1.1 server holding a build (see the module's description).

    ``timeout`` (seconds) is the time limit passed on to servers that take one (Virtuoso:
    ``timeout`` in ms, Fuseki: ``timeout`` in s) and, with a margin, the client's read
    time-out; without it queries may take :data:`READ_TIMEOUT`. ``check=False`` opens a
    server that holds no build yet (for ``kg build``).

    >>> store = RemoteStore(RemoteLocation("http://127.0.0.1:8890/sparql"))  # doctest: +SKIP
    >>> bool(store.query("ASK { ?s ?p ?o }"))  # doctest: +SKIP
    True
    """

    refresh_interval = 1.0

    def __init__(self, location: RemoteLocation | str, *, timeout: float | None = None,
                 check: bool = True, batch_size: int = BATCH, retries: int = RETRIES) -> None:
        self.location = location if isinstance(location, RemoteLocation) else \
            RemoteLocation(location)
        self.url = self.location.query
        self.timeout = timeout
        self.batch_size = batch_size
        self.retries = retries
        found = credentials(self.url)
        self._auth = ServerAuth(*(found or (None, None)))
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.server = ""
        self._info: BuildInfo | None = None
        self._defaults: dict[str, list[str]] = {}
        self._checked = 0.0
        self._refreshing = threading.Lock()
        self._bnodes: dict[str, list[ox.Quad]] = {}
        if check:
            self.refresh()

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # --- HTTP ---------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers["User-Agent"] = "duikou-kg (kg.remote)"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def _request(self, method: str, url: str, *, retries: int = 1, read_timeout: float = 60.0,
                 **kwargs: Any) -> requests.Response:
        """One HTTP exchange, retried with back-off on connection errors and on 502–504
        (and on any 5xx when ``retries`` > 1, for uploads)."""
        for attempt in range(retries + 1):
            try:
                resp = self._session().request(method, url,
                                               timeout=(CONNECT_TIMEOUT, read_timeout), **kwargs)
            except requests.ConnectionError as e:
                if attempt >= retries:
                    raise StoreError(f"cannot reach the SPARQL server at {url}: "
                                     f"{e.__class__.__name__}") from None
                log.warning("%s %s failed (%s); retrying", method, url, e.__class__.__name__)
            else:
                self.server = self.server or resp.headers.get("Server", "")
                retryable = resp.status_code in (502, 503, 504) or (
                    retries > 1 and resp.status_code >= 500)
                if not retryable or attempt >= retries:
                    return resp
                log.warning("%s %s answered %d; retrying", method, url, resp.status_code)
            time.sleep(min(0.5 * 2 ** attempt, 8.0))
        raise AssertionError("unreachable")

    def _check(self, resp: requests.Response, what: str) -> None:
        if resp.status_code in (401, 403):
            raise StoreError(
                f"{what}: the server at {resp.url.split('?')[0]} refused access "
                f"({resp.status_code}); set KG_STORE_USER and KG_STORE_PASSWORD, or add the "
                "host to a netrc file")
        if resp.status_code == 404:
            raise StoreError(f"{what}: there is no such endpoint at {resp.url.split('?')[0]} "
                             "(404); check --store, --store-update and --store-data")
        if resp.status_code >= 300:
            raise StoreError(f"{what}: the server answered {resp.status_code}: "
                             f"{_server_message(resp)}")

    @property
    def kind(self) -> str:
        """The server's product, from its ``Server`` header: virtuoso, oxigraph, fuseki
        or "" (any other SPARQL 1.1 server)."""
        server = self.server.lower()
        for name in ("virtuoso", "oxigraph", "fuseki"):
            if name in server:
                return name
        return ""

    def endpoints(self) -> tuple[str, str]:
        """The update and Graph Store endpoints: as configured, else the known layout of
        the server (Virtuoso ``/sparql-auth`` and ``/sparql-graph-crud-auth``, Oxigraph
        ``/update`` and ``/store``, Fuseki ``/update`` and ``/data``), else the query URL.
        """
        if not self.server:
            self._request("GET", self.url, params={"query": "ASK {}"},
                          headers={"Accept": RESULTS_ACCEPT})
        defaults = {
            "virtuoso": ("sparql-auth", "sparql-graph-crud-auth"),
            "oxigraph": ("update", "store"),
            "fuseki": ("update", "data"),
        }.get(self.kind)
        update = self.location.update or (_sibling(self.url, defaults[0]) if defaults
                                          else self.url)
        data = self.location.data or (_sibling(self.url, defaults[1]) if defaults
                                      else self.url)
        return update, data

    # --- queries ------------------------------------------------------------------------

    def _send_query(self, text: str, dataset: list[tuple[str, str]], accept: str
                    ) -> requests.Response:
        params: list[tuple[str, str]] = [("query", text), *dataset]
        read_timeout = READ_TIMEOUT
        if self.timeout:
            limit = self.timeout * 0.9  # the server stops first, so its answer can be read
            if self.kind == "virtuoso":
                params.append(("timeout", str(max(1, int(limit * 1000)))))
            elif self.kind == "fuseki":
                params.append(("timeout", f"{limit:.3f}"))
            read_timeout = self.timeout + 5.0
        headers = {"Accept": accept}
        try:
            if len(urlencode(params)) <= GET_LIMIT:
                resp = self._request("GET", self.url, params=params, headers=headers,
                                     read_timeout=read_timeout)
            else:  # a form POST; Virtuoso 7.2 never answers an application/sparql-query body
                resp = self._request("POST", self.url, data=params, headers=headers,
                                     read_timeout=read_timeout)
        except requests.Timeout:
            raise QueryTimeout(f"the SPARQL server at {self.url} did not answer within "
                               f"{read_timeout:g} s") from None
        state = resp.headers.get("X-SQL-State", "")
        if state.startswith("S1T"):  # Virtuoso's "anytime" answer: cut off at the limit
            raise QueryTimeout(f"the SPARQL server stopped the query at its time limit "
                               f"({resp.headers.get('X-SQL-Message', state)})")
        if resp.status_code == 400:
            raise SyntaxError(f"the SPARQL server refused the query: {_server_message(resp)}")
        if resp.status_code >= 500 and re.search(r"\bS1T00\b|time ?out|timed out",
                                                 resp.text[:2000], re.IGNORECASE):
            raise QueryTimeout(f"the SPARQL server stopped the query at its time limit: "
                               f"{_server_message(resp, 200)}")
        self._check(resp, "query")
        return resp

    def _parse(self, resp: requests.Response) -> QueryResult:
        media = _media_type(resp)
        if media in ("application/sparql-results+json", "application/json"):
            return parse_json_results(resp.content)
        if media in ("application/sparql-results+xml", "application/xml", "text/xml"):
            return parse_xml_results(resp.content)
        fmt = ox.RdfFormat.N_TRIPLES if media == "text/plain" else \
            ox.RdfFormat.from_media_type(media)
        if fmt is None:
            raise StoreError(f"the SPARQL server answered with {media or 'no media type'}, "
                             "which is not a SPARQL result or RDF format")
        return as_query_triples(ox.parse(resp.content, format=fmt))

    def _select(self, text: str, dataset: list[tuple[str, str]] | None = None
                ) -> ox.QuerySolutions:
        result = self._parse(self._send_query(text, dataset or [], RESULTS_ACCEPT))
        if not isinstance(result, ox.QuerySolutions):
            raise StoreError("the SPARQL server did not answer a SELECT query with solutions")
        return result

    def _graphs(self, inference: bool) -> list[str]:
        """The build's named graphs (all, or the asserted ones)."""
        graphs = [g for g, n in self.info.counts.items() if n]
        if not inference:
            graphs = [g for g in graphs if g != str(Graphs.INFERRED)]
        return sorted(graphs) or [NO_GRAPH]

    def _default_graph(self, inference: bool) -> list[str]:
        """The graphs whose merge is the default graph: the union graphs the build wrote,
        else the build's graphs."""
        self.info  # noqa: B018 (reads the description, and the union graphs with it)
        return self._defaults.get("all" if inference else "asserted") or \
            self._graphs(inference)

    def query(
        self,
        sparql: str,
        *,
        inference: bool = True,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query on the server; the dataset as
        :meth:`kg.store.EmbeddedStore.query` defines it, always named explicitly."""
        kind, form = operation(sparql)
        if kind == "update":
            raise SyntaxError(f"this is a SPARQL update ({form}), not a query")
        if default_graphs or named_graphs:
            dataset = [("default-graph-uri", g) for g in default_graphs or [NO_GRAPH]]
            dataset += [("named-graph-uri", g)
                        for g in (named_graphs or self._graphs(True))]
        elif has_dataset_clause(sparql):
            dataset = []  # the query's FROM / FROM NAMED decide
        else:
            dataset = [("default-graph-uri", g) for g in self._default_graph(inference)]
            dataset += [("named-graph-uri", g) for g in self._graphs(inference)]
        text = expand_escaped_names(sparql)
        if self.kind == "virtuoso":
            text = datatype_of_tagged(distinct_paths(shield_constants(text)))
        if base_iri:
            text = f"BASE <{base_iri}>\n{text}"
        accept = GRAPH_ACCEPT if form in ("CONSTRUCT", "DESCRIBE") else (
            RESULTS_ACCEPT if form in ("SELECT", "ASK") else f"{RESULTS_ACCEPT}, {GRAPH_ACCEPT}")
        return self._parse(self._send_query(text, dataset, accept))

    def quads_for_pattern(self, subject: Term | None, predicate: ox.NamedNode | None,
                          object: Term | None, graph_name: ox.NamedNode | None = None,
                          ) -> Iterator[ox.Quad]:
        """The quads matching a pattern, in the build's graphs or in ``graph_name``.

        A blank node cannot be named in a query, so the statements about blank node
        objects are fetched with the statements that lead to them, and a pattern whose
        subject is a blank node is answered from those.
        """
        if isinstance(subject, ox.BlankNode):
            return iter([q for q in self._bnodes.get(subject.value, ())
                         if (predicate is None or q.predicate == predicate)
                         and (object is None or q.object == object)])
        if isinstance(object, ox.BlankNode) or isinstance(subject, ox.Triple):
            return iter(())
        s = str(subject) if subject is not None else "?s"
        p = str(predicate) if predicate is not None else "?p"
        o = str(object) if object is not None else "?o"
        g = f"<{graph_name.value}>" if graph_name is not None else "?g"
        dataset = [("default-graph-uri", NO_GRAPH)]
        dataset += [("named-graph-uri", x) for x in
                    ([graph_name.value] if graph_name is not None else self._graphs(True))]
        quads = [ox.Quad(subject or row["s"], predicate or row["p"], object or row["o"],
                         graph_name or row["g"])
                 for row in self._select(f"SELECT * WHERE {{ GRAPH {g} {{ {s} {p} {o} }} }}",
                                         dataset)]
        if object is None and any(isinstance(q.object, ox.BlankNode) for q in quads):
            text = (f"SELECT * WHERE {{ GRAPH {g} {{ {s} {p} ?b . FILTER(isBlank(?b)) "
                    "?b ?bp ?bo } }")
            found: dict[str, list[ox.Quad]] = {}
            for row in self._select(text, dataset):
                found.setdefault(row["b"].value, []).append(
                    ox.Quad(row["b"], row["bp"], row["bo"], graph_name or row["g"]))
            if len(self._bnodes) > 100_000:
                self._bnodes.clear()
            self._bnodes.update(found)
        return iter(quads)

    def quads(self, graphs: Iterable[str] | None = None) -> Iterator[ox.Quad]:
        """Every quad of the build's graphs, or of the given ones, read a page at a time;
        fails rather than return less than the build recorded."""
        names = list(graphs) if graphs is not None else sorted(self.counts())
        for graph in names:
            node = ox.NamedNode(graph)
            expected = self.counts().get(graph)
            seen = 0
            pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}"
            if expected is not None and expected <= PAGE:
                pages: Iterator[str] = iter([f"SELECT ?s ?p ?o WHERE {{ {pattern} }}"])
            else:
                pages = (f"SELECT ?s ?p ?o WHERE {{ {pattern} }} ORDER BY ?s ?p ?o "
                         f"LIMIT {PAGE} OFFSET {offset}" for offset in range(0, 1 << 62, PAGE))
            for text in pages:
                rows = 0
                for row in self._select(text):
                    rows += 1
                    yield ox.Quad(row["s"], row["p"], row["o"], node)
                seen += rows
                if rows < PAGE:
                    break
            if expected is not None and seen < expected:
                raise StoreError(
                    f"the server returned {seen} of the {expected} triples of <{graph}>; it "
                    "probably caps result sizes (Virtuoso: raise ResultSetMaxRows in the "
                    "[SPARQL] section of virtuoso.ini)")

    # --- build description --------------------------------------------------------------

    def refresh(self) -> bool:
        """Read the build description again (at most once a second); True when another
        build was published since."""
        if self._fresh():
            return False
        with self._refreshing:  # one thread asks the server; the others use its answer
            if self._fresh():
                return False
            return self._reread()

    def _fresh(self) -> bool:
        return (self._info is not None
                and time.monotonic() - self._checked < self.refresh_interval)

    def _reread(self) -> bool:
        info = self._read_info()
        self._checked = time.monotonic()
        if info is None:
            raise StoreError(f"no build on the SPARQL server at {self.url} (no graph "
                             f"<{BUILD_GRAPH}>); run `kg build --store {self.url}` first")
        changed = self._info is None or info[0].build_id != self._info.build_id
        if changed:
            self._info, self._defaults = info
            self._bnodes.clear()
            log.info("remote store %s serves build %s", self.url, info[0].build_id)
        return changed

    def _read_info(self) -> tuple[BuildInfo, dict[str, list[str]]] | None:
        rows = self._select(f"SELECT ?json WHERE {{ GRAPH <{BUILD_GRAPH}> {{ "
                            f"<{BUILD_GRAPH}> <{DESCRIPTION}> ?json }} }}")
        texts = sorted(row["json"].value for row in rows)
        if not texts:
            return None
        try:
            data = json.loads(texts[-1])
            defaults = {k: list(v) for k, v in data.get("default_graphs", {}).items()}
            return BuildInfo(**{k: v for k, v in data.items()
                                if k in BuildInfo.__dataclass_fields__}), defaults
        except (ValueError, TypeError) as e:
            raise StoreError(f"the build description in <{BUILD_GRAPH}> on {self.url} is "
                             f"broken: {e}") from None

    @property
    def info(self) -> BuildInfo:
        if self._info is None:
            self.refresh()
        assert self._info is not None
        return self._info

    @property
    def generation(self) -> str:
        return f"{self.url}#{self.info.build_id}"

    def counts(self) -> dict[str, int]:
        """Triples per named graph, as recorded at build or update time."""
        return dict(self.info.counts)

    def _info_update(self, info: BuildInfo, defaults: dict[str, list[str]]) -> str:
        data = {**json.loads(info.to_json()), "default_graphs": defaults}
        text = json.dumps(data, sort_keys=True)  # one line, ASCII
        literal = ox.Literal(text)
        created = ox.Literal(info.built_at, datatype=ox.NamedNode(XSD_DATETIME))
        return (f"DROP SILENT GRAPH <{BUILD_GRAPH}> ;\n"
                f"INSERT DATA {{ GRAPH <{BUILD_GRAPH}> {{ <{BUILD_GRAPH}> "
                f"<{IDENTIFIER}> {ox.Literal(info.build_id)} ; <{CREATED}> {created} ; "
                f"<{DESCRIPTION}> {literal} }} }}")

    # --- writing ------------------------------------------------------------------------

    def _update(self, text: str, what: str = "update", *, retries: int = 1) -> None:
        update_url, _ = self.endpoints()
        resp = self._request("POST", update_url, data={"update": text},
                             headers={"Accept": "*/*"}, retries=retries,
                             read_timeout=READ_TIMEOUT)
        if resp.status_code == 400:
            raise SyntaxError(f"the SPARQL server refused the {what}: {_server_message(resp)}")
        self._check(resp, what)

    def count(self, graph: str) -> int:
        """Triples in one named graph, counted by the server."""
        rows = list(self._select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))
        return int(rows[0]["n"].value) if rows else 0

    def count_graphs(self) -> dict[str, int]:
        """Triples per named graph under ``https://w3id.org/duikou/graph/``, counted by the
        server (the build description and staging graphs left out)."""
        rows = self._select(
            f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER(STRSTARTS(STR(?g), \"{GRAPH}\")) }} GROUP BY ?g")
        counts = {row["g"].value: int(row["n"].value) for row in rows}
        return dict(sorted((g, n) for g, n in counts.items() if g != BUILD_GRAPH
                           and "-staging-" not in g and not g.startswith(str(GRAPH["union/"]))))

    @staticmethod
    def _union_ops(counts: dict[str, int], overlap: bool) -> tuple[list[str], dict]:
        """The update operations that (re)write the union graphs from the graphs in
        ``counts``, and the default graphs they give."""
        inferred = str(Graphs.INFERRED)
        asserted = sorted(g for g, n in counts.items() if n and g != inferred)
        ops = [f"DROP SILENT GRAPH <{UNION_ASSERTED}>", f"DROP SILENT GRAPH <{UNION_ALL}>"]
        ops += [f"ADD SILENT <{g}> TO <{UNION_ASSERTED}>" for g in asserted]
        defaults = {"asserted": [UNION_ASSERTED] if asserted else [NO_GRAPH]}
        if counts.get(inferred) and overlap:
            ops += [f"ADD SILENT <{g}> TO <{UNION_ALL}>" for g in [*asserted, inferred]]
            defaults["all"] = [UNION_ALL]
        elif counts.get(inferred):
            defaults["all"] = [*defaults["asserted"], inferred]
        else:
            defaults["all"] = defaults["asserted"]
        return ops, defaults

    def update(self, sparql_update: str, *, base_iri: str | None = None) -> BuildInfo:
        """Apply a SPARQL 1.1 Update on the server, then record a new build description
        with the graphs' new counts (the inferred graph is not recomputed)."""
        kind, form = operation(sparql_update)
        if kind == "query":
            raise SyntaxError(f"this is a SPARQL query ({form}), not an update")
        old = self.info
        text = f"BASE <{base_iri}>\n{sparql_update}" if base_iri else sparql_update
        self._update(text)
        from kg.store import new_build_id

        info = BuildInfo(
            build_id=new_build_id(),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            reasoner=old.reasoner,
            counts=self.count_graphs(),
            inputs=old.inputs,
            stages=[*old.stages, {"stage": "update", "from": old.build_id}],
            kg_version=old.kg_version,
        )
        overlap = UNION_ALL in self._defaults.get("all", [])
        ops, defaults = self._union_ops(info.counts, overlap)
        self._update(" ;\n".join([*ops, self._info_update(info, defaults)]),
                     "build description")
        self._info, self._defaults, self._checked = info, defaults, time.monotonic()
        self._bnodes.clear()
        return info

    def _post_triples(self, data_url: str, graph: str, triples: list[ox.Triple]) -> None:
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        resp = self._request("POST", data_url, params={"graph": graph}, data=body,
                             headers={"Content-Type": "application/n-triples"},
                             retries=self.retries, read_timeout=READ_TIMEOUT)
        self._check(resp, f"upload to <{graph}>")

    def _upload_graph(self, source: ox.Store, graph: str, staging: str, data_url: str,
                      bnodes: dict[str, str]) -> int:
        """Upload one graph of ``source`` into ``staging``; returns the number of batches.

        Each request is its own blank node scope, so every triple with a blank node goes
        in the last batch, all together.
        """
        plain: list[ox.Triple] = []
        with_bnodes: list[ox.Triple] = []
        batches = 0
        for q in source.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
            t = ox.Triple(q.subject, q.predicate, q.object)
            labels = [n.value for n in (q.subject, q.object) if isinstance(n, ox.BlankNode)]
            if labels:
                with_bnodes.append(t)
                for label in labels:
                    other = bnodes.setdefault(label, graph)
                    if other != graph:
                        log.warning("blank node _:%s is in <%s> and <%s>; a Graph Store upload "
                                    "makes it two nodes", label, other, graph)
                continue
            plain.append(t)
            if len(plain) >= self.batch_size:
                self._post_triples(data_url, staging, plain)
                batches += 1
                log.info("uploaded batch %d of <%s>", batches, graph)
                plain = []
        if plain or with_bnodes:
            self._post_triples(data_url, staging, plain + with_bnodes)
            batches += 1
        return batches

    def replace_graphs(self, source: ox.Store, counts: dict[str, int], info: BuildInfo,
                       progress: Progress | None = None) -> dict[str, int]:
        """Make the server hold exactly the graphs of ``source`` and ``info`` as its build.

        Each graph is uploaded into ``<graph>-staging-<build id>`` and counted; then one
        update moves every staging graph onto its graph, drops the graphs the build no
        longer has and writes the build description. Returns the counts verified after.
        Raises :class:`~kg.errors.StoreError` (the previous graphs still answering, unless
        the swap itself failed on the server) when anything goes wrong.
        """
        _, data_url = self.endpoints()
        staging = {g: f"{g}-staging-{info.build_id}" for g, n in sorted(counts.items()) if n}
        try:
            bnodes: dict[str, str] = {}
            for graph, target in staging.items():
                if progress is not None:
                    progress.start("upload")
                started = time.perf_counter()
                batches = self._upload_graph(source, graph, target, data_url, bnodes)
                if progress is not None:
                    progress.done("upload", counts[graph], time.perf_counter() - started,
                                  f"<{graph}>, {batches} batch(es)")
            wrong = {g: (counts[g], n) for g, target in staging.items()
                     if (n := self.count(target)) != counts[g]}
            if wrong:
                raise StoreError(
                    "the server holds other triple counts than were uploaded: "
                    + "; ".join(f"<{g}> {want} sent, {got} stored"
                                for g, (want, got) in wrong.items())
                    + " (Virtuoso merges literals it finds equal, such as 1 and 1.0 with "
                    "the same subject and predicate); the previous graphs are unchanged")
            if progress is not None:
                progress.start("swap")
            started = time.perf_counter()
            previous = set(self._info.counts) if self._info is not None else set()
            with contextlib.suppress(StoreError, SyntaxError):
                previous |= set((self._read_info() or (info, {}))[0].counts)
            ops = []
            for graph in sorted({str(g) for g in Graphs.ALL} | set(counts) | previous):
                if graph in staging:
                    ops.append(f"MOVE <{staging[graph]}> TO <{graph}>")
                else:
                    ops.append(f"DROP SILENT GRAPH <{graph}>")
            expected, overlap = _union_counts(source)
            union_ops, defaults = self._union_ops(counts, overlap)
            ops += [*union_ops, self._info_update(info, defaults)]
            self._update(" ;\n".join(ops), "swap of the new graphs")
        except BaseException:
            self._drop_quietly(staging.values())
            raise
        verified = {g: self.count(g) for g in staging}
        unions = {g: self.count(g) for g in (UNION_ASSERTED, UNION_ALL)}
        if progress is not None:
            progress.done("swap", sum(verified.values()), time.perf_counter() - started,
                          f"{len(staging)} graphs moved in, counts verified")
        wanted = {**counts, UNION_ASSERTED: expected["asserted"],
                  UNION_ALL: expected["all"] if overlap else 0}
        wrong = {g: (wanted[g], n) for g, n in {**verified, **unions}.items()
                 if n != wanted[g]}
        if wrong:
            raise StoreError("after the swap the server holds other triple counts than the "
                             "build: " + "; ".join(f"<{g}> {a} built, {b} stored"
                                                   for g, (a, b) in wrong.items()))
        self._info, self._defaults, self._checked = info, defaults, time.monotonic()
        self._bnodes.clear()
        return verified

    def _drop_quietly(self, graphs: Iterable[str]) -> None:
        names = list(graphs)
        if not names:
            return
        try:
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names),
                         "removal of the staging graphs")
        except (StoreError, SyntaxError) as e:
            log.warning("could not remove the staging graphs %s: %s", ", ".join(names), e)


def _union_counts(source: ox.Store) -> tuple[dict[str, int], bool]:
    """Distinct triples of the asserted graphs and of all graphs of ``source``, and whether
    the inferred graph repeats asserted triples."""
    inferred = f"<{Graphs.INFERRED}>"

    def distinct(condition: str) -> int:
        rows = list(source.query(
            "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { "
            f"GRAPH ?g {{ ?s ?p ?o }} {condition} }} }}"))
        return int(rows[0]["n"].value)

    overlap = bool(source.query(f"ASK {{ GRAPH {inferred} {{ ?s ?p ?o }} GRAPH ?g "
                                f"{{ ?s ?p ?o }} FILTER(?g != {inferred}) }}"))
    return {"asserted": distinct(f"FILTER(?g != {inferred})"), "all": distinct("")}, overlap
