"""Property-based fuzzing of the protocol layer against one real ``kg serve`` process.

Arbitrary query strings, parameters, headers, content types and bodies — invalid UTF-8,
GBK-encoded Chinese, NUL bytes, values over the size limit, SPARQL with mutations, path
traversal attempts — sent as raw HTTP over a socket (so nothing is cleaned up on the way)
must never give a 5xx for a client's mistake (a 503 only with ``Retry-After``), never crash
a worker, and always give a well-formed error: a status, a ``Content-Type``, an
``X-Request-Id``, one short message, no stack trace and no file path.

Bounded for the regular suite (``KG_FUZZ_EXAMPLES`` examples per strategy, default 300);
``bench/fuzz.py --minutes N`` runs the same strategies for longer and prints the cases run.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Server, start_server
from .processes import settled_workers, worker_pids

EXAMPLES = int(os.environ.get("KG_FUZZ_EXAMPLES", "300"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture,
                                                HealthCheck.data_too_large])
MAX_BODY = 65536
"""``KG_MAX_BODY`` of the fuzzing server: values above it must give 413/414, not 500."""

# --- a raw HTTP client ---------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def raw_request(base: str, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                body: bytes = b"", timeout: float = 30) -> Reply:
    """Send one request exactly as given (``Connection: close``) and read the answer."""
    host, port = base.removeprefix("http://").split(":")
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: " + f"{host}:{port}".encode()]
    lines += [k + b": " + v for k, v in headers]
    if body or method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            # the server refused the request (a body over the limit, a malformed header)
            # and closed without reading the rest; its answer, if not lost with the reset,
            # must be a refusal
            try:
                reply = _read(sock, method)
            except OSError:
                if len(body) <= MAX_BODY:
                    raise
                return Reply(0, {CLOSED_EARLY: "1"}, b"")
            assert 400 <= reply.status < 500, f"{reply.status} after closing early"
            return reply
        return _read(sock, method)


CLOSED_EARLY = "x-test-closed-early"


def _read(sock: socket.socket, method: str) -> Reply:
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    content = resp.read()
    return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, content)


# --- what every answer must be -------------------------------------------------------------

LEAKS = ("Traceback", "site-packages", 'File "', "/work/", "/home/", ".py\"", "/tmp/",
         "werkzeug", "granian/")


@dataclass
class Tally:
    """Cases sent and statuses seen, for the report."""

    cases: int = 0
    statuses: Counter = field(default_factory=Counter)


TALLY = Tally()


def check(reply: Reply, what: str, *, head: bool = False) -> None:
    """The server's answer to anything a client may send (``head``: no body to check)."""
    TALLY.cases += 1
    TALLY.statuses[reply.status] += 1
    if reply.header(CLOSED_EARLY):
        return
    text = reply.body.decode("utf-8", "replace")
    assert reply.status < 500 or (reply.status == 503 and reply.header("Retry-After")), \
        f"{reply.status} for {what}: {text[:300]}"
    if reply.status < 400:
        return
    if reply.header("X-Request-Id") is None:
        # refused by the HTTP server (granian) before the app saw it: a request target
        # with characters a URI may not hold, headers too large
        assert reply.status in (400, 413, 414, 431), f"{reply.status} for {what}"
        return
    ctype = reply.header("Content-Type") or ""
    assert ctype, f"{reply.status} without Content-Type for {what}"
    if head:
        return
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked in a {reply.status} for {what}: {text[:500]}"
    if ctype.startswith("application/json"):
        doc = json.loads(text)
        assert doc["status"] == reply.status and doc["error"] and doc["request_id"]
        assert len(doc["error"]) < 1200
    elif ctype.startswith("text/plain"):
        assert text.strip() and len(text) < 1200, f"{what}: {text[:300]}"
    else:
        assert ctype.startswith("text/html"), f"{ctype} for an error to {what}"


# --- strategies ----------------------------------------------------------------------------

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3",
    "DESCRIBE <https://w3id.org/duikou/id/division/330000>",
    'SELECT ?l WHERE { ?d <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l)="zh") }',
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "PREFIX dk: <https://w3id.org/duikou/ontology#> SELECT ?p WHERE { ?p a dk:Pairing }",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:22/> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }",
    "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    "LOAD <file:///etc/passwd>",
    "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }",
    "DROP ALL",
    'SELECT * WHERE { BIND("中文" AS ?x) }',
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 0",
]

CHINESE = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                  min_size=1, max_size=12)


@st.composite
def mutated_query(draw: st.DrawFn) -> bytes:
    """A known query with a few random edits: close to the grammar, so the parser is hit."""
    text = bytearray(draw(st.sampled_from(QUERIES)).encode())
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from([0, 0x7B, 0x7D, 0x3C, 0x3E, 0x22, 0x3F, 0x5C, 0x0A, 0xFF,
                                     0xC3, 0x28, 0x29, 0x2E, 0x3B, 0x23, 0x27]))
        if op == "insert" or not text:
            text.insert(min(pos, len(text)), byte)
        elif op == "delete":
            del text[min(pos, len(text) - 1)]
        else:
            text[min(pos, len(text) - 1)] = byte
    return bytes(text)


@st.composite
def huge(draw: st.DrawFn) -> bytes:
    """A value around and over the size limit (made outside hypothesis's buffer)."""
    size = draw(st.sampled_from([MAX_BODY - 200, MAX_BODY + 1, 3 * MAX_BODY, 1_000_000]))
    fill = draw(st.sampled_from([b"a", b"\x00", "中".encode(), b"\xff", b"%"]))
    return (fill * (size // len(fill) + 1))[:size]


VALUES = st.one_of(
    mutated_query(),
    st.sampled_from(QUERIES).map(str.encode),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    CHINESE.map(lambda s: s.encode("gbk")),
    CHINESE.map(lambda s: f'SELECT * WHERE {{ ?s ?p "{s}" }}'.encode("gbk")),
    st.sampled_from([b"", b"\x00", b"none", b"NONE", b"json", b"text/csv", b"rdf+xml",
                     b"http://e/g", b"urn:x", b"not an iri", b"../../etc/passwd",
                     b"http://e/g> } ; DROP ALL ; INSERT DATA { <a> <b> <c"]),
    huge(),
)

PARAM_NAMES = st.sampled_from(["query", "query", "update", "default-graph-uri",
                               "named-graph-uri", "using-graph-uri", "inference", "format",
                               "output", "query ", "QUERY", "x", ""]).map(str.encode)


def encode_params(pairs: list[tuple[bytes, bytes]], raw: bool) -> bytes:
    if raw:  # the bytes as they are, only what would break the request line escaped
        return b"&".join(k + b"=" + v.replace(b" ", b"%20").replace(b"\r", b"%0D")
                         .replace(b"\n", b"%0A").replace(b"#", b"%23") for k, v in pairs)
    return b"&".join(quote_from_bytes(k).encode() + b"=" + quote_from_bytes(v).encode()
                     for k, v in pairs)


SAFE_HEADER = st.binary(max_size=120).map(
    lambda b: bytes(c for c in b if c not in (0, 10, 13)).strip())
ACCEPT = st.one_of(
    st.sampled_from([b"*/*", b"text/html", b"application/json", b"text/csv;q=0.5, */*;q=0.1",
                     b"image/png", b"application/sparql-results+json;q=nan",
                     b"text/turtle;q=inf", b";;;", b"*", b"text/*;q=-1", b"a/b" * 300]),
    SAFE_HEADER,
)
HEADERS = st.lists(st.tuples(
    st.sampled_from([b"Accept", b"Accept", b"Accept-Encoding", b"X-Request-Id", b"Origin",
                     b"Authorization", b"Accept-Language", b"Range", b"If-None-Match",
                     b"Access-Control-Request-Method", b"X-Forwarded-For"]),
    st.one_of(ACCEPT, SAFE_HEADER,
              st.sampled_from([b"gzip;q=x", b"gzip;q=", b"bytes=0-0", b"bytes=9-1",
                               b"Bearer x", b"bearer", b"<script>", "中文".encode("gbk")]))),
    max_size=4)

CONTENT_TYPES = st.one_of(
    st.sampled_from([
        b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded; charset=gbk",
        b"application/sparql-query", b"application/sparql-query; charset=utf-8",
        b"application/sparql-query; charset=GBK", b"application/sparql-query; charset=",
        b"application/sparql-update", b"application/sparql-update; charset=latin-1",
        b"multipart/form-data; boundary=xx", b"multipart/form-data", b"application/json",
        b"text/plain", b";;;", b"application/sparql-query; charset=\"utf-8\"",
        b"application/x-www-form-urlencoded; charset=\xff",
    ]),
    SAFE_HEADER,
)

PATHS = st.one_of(
    st.sampled_from([b"/sparql", b"/sparql/", b"/healthz", b"/", b"/void", b"/ontology",
                     b"/openapi.json", b"/queries.json", b"/prefixes.json", b"/download/",
                     b"/id/division/330000", b"/network.json"]),
    st.tuples(st.sampled_from([b"/id/", b"/download/", b"/void.", b"/ontology.",
                               b"/queries/", b"/assets/", b"/id/division/"]),
              st.lists(st.sampled_from([b"..", b"%2e%2e", b"%2E%2E", b"..%2f", b"%2f",
                                        b"%00", b"etc", b"passwd", b"/", b"//", b"%5c",
                                        b"duikou.nt", b".gz", b".rq", b"330000", b".ttl",
                                        b"%ff", b"%e4%b8%ad", b"~", b"%3Cscript%3E",
                                        b"/etc/passwd", b"C:%5cwindows"]),
                       max_size=6))
    .map(lambda t: t[0] + b"".join(t[1])),
)


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Server]:
    """Two workers, a 64 KiB size limit, a 5 s time limit; no updates."""
    srv = start_server(fixture_store, tmp_path_factory.mktemp("fuzz-logs"), "--workers", "2",
                       env={"KG_QUERY_TIMEOUT": "5", "KG_MAX_ROWS": "200",
                            "KG_MAX_BODY": str(MAX_BODY)})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pids_before(fuzz_server: Server) -> set[int]:
    return settled_workers(fuzz_server.process.pid, 2)


# --- the properties ------------------------------------------------------------------------


@FUZZ_SETTINGS
@given(params=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=4), raw=st.booleans(),
       headers=HEADERS, method=st.sampled_from(["GET", "GET", "HEAD"]))
def test_get_parameters(fuzz_server: Server, pids_before: set[int],
                        params: list[tuple[bytes, bytes]], raw: bool,
                        headers: list[tuple[bytes, bytes]], method: str) -> None:
    target = b"/sparql?" + encode_params(params, raw)
    check(raw_request(fuzz_server.url, method, target, headers), f"{method} {target[:200]!r}",
          head=method == "HEAD")


@FUZZ_SETTINGS
@given(content_type=st.one_of(st.none(), CONTENT_TYPES),
       body=st.one_of(VALUES, st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=4)
                      .map(lambda p: encode_params(p, False))),
       params=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=2), headers=HEADERS)
def test_post_bodies(fuzz_server: Server, pids_before: set[int], content_type: bytes | None,
                     body: bytes, params: list[tuple[bytes, bytes]],
                     headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = list(headers)
    if content_type is not None:
        all_headers.append((b"Content-Type", content_type))
    target = b"/sparql" + (b"?" + encode_params(params, False) if params else b"")
    check(raw_request(fuzz_server.url, "POST", target, all_headers, body),
          f"POST {content_type!r} {body[:200]!r}")


@FUZZ_SETTINGS
@given(path=PATHS, query=st.one_of(st.just(b""), st.binary(max_size=40)), headers=HEADERS,
       method=st.sampled_from(["GET", "GET", "HEAD", "OPTIONS", "DELETE", "PUT", "PATCH"]))
def test_paths_and_methods(fuzz_server: Server, pids_before: set[int], path: bytes,
                           query: bytes, headers: list[tuple[bytes, bytes]],
                           method: str) -> None:
    target = path + (b"?" + quote_from_bytes(query).encode() if query else b"")
    reply = raw_request(fuzz_server.url, method, target, headers)
    check(reply, f"{method} {target!r}", head=method == "HEAD")
    # traversal never reaches a file: nothing outside the fixed names is ever sent
    assert b"root:x:0:0" not in reply.body and b"from __future__ import" not in reply.body


TRAVERSALS = [
    b"/id/../../etc/passwd", b"/id/..%2f..%2fetc%2fpasswd", b"/id/%2e%2e/%2e%2e/etc/passwd",
    b"/id/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"/id/%2E%2E/pyproject.toml", b"/id//etc/passwd",
    b"/id/%2fetc%2fpasswd", b"/id/%00", b"/id/division/330000%00.ttl",
    b"/id/C:%5cwindows%5cwin.ini", b"/id/file:///etc/passwd", b"/id/..%5c..%5cetc%5cpasswd",
    b"/download/../../etc/passwd", b"/download/..%2f..%2fetc%2fpasswd",
    b"/download/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"/download//etc/passwd",
    b"/download/%2fetc%2fpasswd", b"/download/duikou.nt%00", b"/download/duikou.nt%00.gz",
    b"/download/..%5c..%5cpyproject.toml", b"/download/~root/.bashrc",
    b"/download/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/assets/../../../pyproject.toml", b"/assets/..%2f..%2f..%2fpyproject.toml",
    b"/assets/%2e%2e/%2e%2e/cli.py", b"/queries/..%2f..%2fpyproject.rq", b"/void.%2e%2e",
    b"/ontology.%2f..%2f..%2fpyproject",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: t.decode())
def test_path_traversal_is_404_never_a_file(fuzz_server: Server, target: bytes) -> None:
    reply = raw_request(fuzz_server.url, "GET", target, [])
    if reply.status in (301, 308):  # "//" merged by the router: the target is a 404 too
        location = reply.header("Location") or ""
        path = location.split("://", 1)[-1].partition("/")[2]
        assert location.startswith(("/", fuzz_server.url)), location
        reply = raw_request(fuzz_server.url, "GET", b"/" + path.encode(), [])
    assert reply.status == 404, (target, reply.status, reply.body[:200])
    for secret in (b"root:x:0:0", b"[build-system]", b"from __future__", b"[boot loader]"):
        assert secret not in reply.body


def test_no_worker_crashed(fuzz_server: Server, pids_before: set[int]) -> None:
    """After all that: the same workers (time limits kill query processes, never workers),
    healthy, and no 500 logged."""
    assert TALLY.cases > 0
    print(f"fuzz cases: {TALLY.cases}, statuses: {dict(sorted(TALLY.statuses.items()))}")
    assert requests.get(fuzz_server.url + "/healthz", timeout=10).status_code == 200
    log = fuzz_server.log()
    assert worker_pids(fuzz_server.process.pid) == pids_before, log[-3000:]
    for sign in ("SIGSEGV", "SIGKILL", "WORKER TIMEOUT", "Exception in worker",
                 "exited with code", " failed: "):
        assert sign not in log, f"{sign!r} in the server log:\n{log[-3000:]}"
    assert TALLY.statuses.get(500, 0) == 0
