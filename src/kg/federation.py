"""Which endpoints a SPARQL request may reach: the ``SERVICE`` and ``LOAD`` allow-list.

Oxigraph (like rdflib) runs a ``SERVICE`` clause or a ``LOAD`` as an outbound HTTP request
with no host check, so a public endpoint must vet the targets itself, *before* the query
runs. :func:`check_service_targets` finds every ``SERVICE`` and ``LOAD`` target of a query
or update, resolved the way the engine resolves it (``PREFIX`` names, ``BASE``-relative
IRIs, ``\\uXXXX`` escapes), and raises :class:`ForbiddenService` unless each one is exactly an
IRI of the allow-list. A variable target (``SERVICE ?x``) is always refused: its value is
only known while the query runs.

Two independent readings of the request must agree, so that a quirk of one parser cannot
smuggle a target past the check:

1. rdflib's SPARQL parser and algebra (every ``ServiceGraphPattern`` and ``Load`` node of the
   translated query, at any depth: ``OPTIONAL``, ``UNION``, ``MINUS``, ``FILTER EXISTS``,
   sub-queries, updates' ``WHERE``);
2. a SPARQL tokenizer that skips strings, comments and IRIs and reads each ``SERVICE`` /
   ``LOAD`` keyword with its target, resolving names through the prologue with Oxigraph's
   own IRI resolution.

Every target either reading finds must be allowed, and both must count the same number of
targets. rdflib cannot parse a ``SERVICE`` nested inside another (its parser recurses
without end) nor syntax it does not know; then the tokenizer's reading decides alone.

>>> check_service_targets("SELECT * { ?s ?p ?o }", ["https://query.wikidata.org/sparql"])
>>> check_service_targets(
...     "SELECT * { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }",
...     ["https://query.wikidata.org/sparql"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kg.errors.ForbiddenService: SERVICE target <http://169.254.169.254/> is not allowed ...
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from kg.errors import ForbiddenService

__all__ = [
    "DEFAULT_ALLOW",
    "ForbiddenService",
    "ServiceTarget",
    "check_service_targets",
    "find_service_targets",
    "parse_allow_list",
]

log = logging.getLogger(__name__)

WIKIDATA_QUERY_SERVICE = "https://query.wikidata.org/sparql"
DEFAULT_ALLOW: tuple[str, ...] = (WIKIDATA_QUERY_SERVICE,)
"""The allow-list when ``KG_SERVICE_ALLOW`` is not set: the Wikidata Query Service only."""


@dataclass(frozen=True)
class ServiceTarget:
    """One outbound target of a request: ``keyword`` is ``SERVICE`` or ``LOAD``; ``iri`` is
    the resolved IRI, or None for a variable (then ``text`` is the variable)."""

    keyword: str
    iri: str | None
    text: str

    def describe(self) -> str:
        return f"<{self.iri}>" if self.iri is not None else self.text


def parse_allow_list(value: str | None) -> list[str]:
    """The allow-list from ``KG_SERVICE_ALLOW``: IRIs separated by commas or white space.

    Unset (``None``) means the default, the Wikidata Query Service; an empty or blank value
    (or ``none``) means no ``SERVICE`` at all. Each entry must be an absolute http(s) IRI;
    targets are compared with entries exactly, character for character.

    >>> parse_allow_list(None)
    ['https://query.wikidata.org/sparql']
    >>> parse_allow_list("http://127.0.0.1:7878/query, https://query.wikidata.org/sparql")
    ['http://127.0.0.1:7878/query', 'https://query.wikidata.org/sparql']
    >>> parse_allow_list("")
    []
    """
    if value is None:
        return list(DEFAULT_ALLOW)
    entries = [e.strip().strip("<>") for e in re.split(r"[\s,]+", value) if e.strip()]
    if [e.lower() for e in entries] == ["none"]:
        return []
    allow: list[str] = []
    for entry in entries:
        if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", entry):
            raise ValueError(f"KG_SERVICE_ALLOW: {entry!r} is not an absolute http(s) IRI")
        if entry not in allow:
            allow.append(entry)
    return allow


def check_service_targets(
    query: str,
    allow: Sequence[str],
    *,
    base_iri: str | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`ForbiddenService` unless every ``SERVICE`` and ``LOAD`` target of
    ``query`` (a query or an update) is an IRI of ``allow``.

    ``base_iri`` and ``prefixes`` must be those the engine will be given for the same
    request, so that names resolve here as they will there. Never connects anywhere.
    """
    allowed = set(allow)
    for target in find_service_targets(query, base_iri=base_iri, prefixes=prefixes):
        if target.iri is None:
            raise ForbiddenService(
                target.text,
                f"{target.keyword} target {target.text} is a variable; only fixed IRIs from "
                "the allow-list (KG_SERVICE_ALLOW) may be called",
            )
        if target.iri not in allowed:
            raise ForbiddenService(
                target.iri,
                f"{target.keyword} target <{target.iri}> is not allowed (allowed: "
                f"{', '.join(f'<{a}>' for a in allow) or 'none'}; set KG_SERVICE_ALLOW)",
            )


def find_service_targets(
    query: str,
    *,
    base_iri: str | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> list[ServiceTarget]:
    """Every ``SERVICE`` and ``LOAD`` target of a query or update, as the engine would
    resolve it. Raises :class:`ForbiddenService` when the two readings disagree or a
    target cannot be read."""
    text = expand_unicode_escapes(query)
    if not _KEYWORD.search(text):
        return []  # neither keyword appears anywhere: nothing to read (and no parse cost)
    lexical = _lexical_targets(text, base_iri=base_iri, prefixes=prefixes or {})
    parsed = _rdflib_targets(text, base_iri=base_iri, prefixes=prefixes or {})
    if parsed is None:
        return lexical
    if len(parsed) != len(lexical):
        raise ForbiddenService(
            "(unverifiable)",
            f"could not verify the SERVICE/LOAD targets of the request (the parser found "
            f"{len(parsed)}, the tokenizer {len(lexical)}); rewrite it plainly",
        )
    # Both readings are checked: a target counts if either reading sees it.
    seen: list[ServiceTarget] = []
    for t in [*lexical, *parsed]:
        if t not in seen:
            seen.append(t)
    return seen


# --- escapes ---------------------------------------------------------------------------

_KEYWORD = re.compile(r"service|load", re.IGNORECASE)

_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def expand_unicode_escapes(text: str) -> str:
    r"""Replace ``\uXXXX`` and ``\UXXXXXXXX`` everywhere, as SPARQL does before parsing.

    >>> expand_unicode_escapes(r"<\u0068ttp://x/>")
    '<http://x/>'
    """

    def expand(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise ForbiddenService(m.group(0), f"invalid unicode escape {m.group(0)}")
        return chr(code)

    return _UNICODE_ESCAPE.sub(expand, text)


# --- reading 1: rdflib's parser and algebra ---------------------------------------------


def _rdflib_targets(
    text: str, *, base_iri: str | None, prefixes: Mapping[str, str]
) -> list[ServiceTarget] | None:
    """The targets rdflib's algebra holds, or None when rdflib cannot parse the request."""
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())
    full = prologue + text
    roots: list[Any]
    try:
        try:
            roots = [translateQuery(parseQuery(full), base=base_iri).algebra]
        except RecursionError:
            raise
        except Exception:  # not a query: try it as an update
            roots = list(translateUpdate(parseUpdate(full), base=base_iri).algebra)
    except RecursionError:
        log.debug("rdflib recursed on the request (nested SERVICE); the tokenizer decides")
        return None
    except Exception as e:  # any failure to parse: the tokenizer decides
        log.debug("rdflib cannot parse the request (%s); the tokenizer decides", e)
        return None
    found: list[ServiceTarget] = []
    for node in _walk(roots):
        name = getattr(node, "name", None)
        if name == "ServiceGraphPattern":
            found.append(_target("SERVICE", node.get("term")))
        elif name == "Load":
            found.append(_target("LOAD", node.get("iri")))
    return found


def _walk(roots: list[Any]) -> Iterator[Any]:
    """Every node of an rdflib algebra tree, each once, depth first."""
    from rdflib.plugins.sparql.parserutils import CompValue

    seen: set[int] = set()
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            yield node
            children = list(node.values())
        elif isinstance(node, Mapping):
            children = list(node.values())
        elif isinstance(node, list | tuple | set | frozenset) or type(node).__name__ == (
            "ParseResults"
        ):
            children = list(node)
        else:
            continue
        stack.extend(reversed(children))


def _target(keyword: str, term: Any) -> ServiceTarget:
    from rdflib import URIRef, Variable

    if isinstance(term, Variable):
        return ServiceTarget(keyword, None, f"?{term}")
    if isinstance(term, URIRef):
        return ServiceTarget(keyword, str(term), f"<{term}>")
    raise ForbiddenService(str(term), f"cannot read the {keyword} target {term!r}")


# --- reading 2: a tokenizer -------------------------------------------------------------

_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = rf"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PN_LOCAL = (
    rf"(?:[{_PN_CHARS_U}:0-9]|{_PLX})"
    rf"(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
)

_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<ws>\s+)",
            r"(?P<comment>#[^\r\n]*)",
            r'(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)',
            r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""'
            r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
            r'|"(?:[^"\\\r\n]|\\.)*"'
            r"|'(?:[^'\\\r\n]|\\.)*')",
            rf"(?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*)",
            rf"(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)",
            r"(?P<bnode>_:[^\s{}()\[\];,.]+)",
            r"(?P<word>[A-Za-z_][A-Za-z0-9_\-]*)",
            r"(?P<other>.)",
        ]
    ),
    re.DOTALL,
)


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        out.append(_Token(kind, m.group(0), m.start()))
    return out


def _lexical_targets(
    text: str, *, base_iri: str | None, prefixes: Mapping[str, str]
) -> list[ServiceTarget]:
    tokens = _tokens(text)
    names = dict(prefixes)
    base = base_iri
    found: list[ServiceTarget] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.upper() if tok.kind == "word" else ""
        after_at = i > 0 and tokens[i - 1].text == "@"  # a language tag, not a keyword
        if word == "PREFIX" and not after_at:
            if (i + 2 < len(tokens) and tokens[i + 1].kind == "pname"
                    and tokens[i + 1].text.endswith(":") and tokens[i + 2].kind == "iri"):
                names[tokens[i + 1].text[:-1]] = _resolve(tokens[i + 2].text[1:-1], base)
                i += 3
                continue
        elif word == "BASE" and not after_at:
            if i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
                base = _resolve(tokens[i + 1].text[1:-1], base)
                i += 2
                continue
        elif word in ("SERVICE", "LOAD") and not after_at:
            j = i + 1
            if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text.upper() == "SILENT":
                j += 1
            if j >= len(tokens):
                raise ForbiddenService("(missing)", f"{word} without a target")
            target = tokens[j]
            if target.kind == "var":
                found.append(ServiceTarget(word, None, target.text))
            elif target.kind == "iri":
                iri = _resolve(target.text[1:-1], base)
                found.append(ServiceTarget(word, iri, target.text))
            elif target.kind == "pname":
                found.append(ServiceTarget(word, _expand_pname(target.text, names), target.text))
            else:
                raise ForbiddenService(target.text, f"cannot read the {word} target {target.text}")
            i = j + 1
            continue
        i += 1
    return found


def _expand_pname(pname: str, names: Mapping[str, str]) -> str:
    prefix, _, local = pname.partition(":")
    if prefix not in names:
        raise ForbiddenService(pname, f"the prefix of {pname} is not declared")
    local = re.sub(r"\\(.)", r"\1", local)  # PN_LOCAL_ESC: the backslash goes
    return names[prefix] + local


def _resolve(iri: str, base: str | None) -> str:
    """``iri`` resolved against ``base`` by Oxigraph's own IRI resolution (RFC 3986)."""
    if base is None:
        return iri
    try:
        quad = next(iter(ox.parse(f"<{iri}> <urn:x:p> <urn:x:o> .", format=ox.RdfFormat.TURTLE,
                                  base_iri=base)))
    except (SyntaxError, ValueError, StopIteration) as e:
        raise ForbiddenService(iri, f"cannot resolve <{iri}> against <{base}>: {e}") from None
    subject = quad.subject
    assert isinstance(subject, ox.NamedNode)
    return subject.value
