"""Content negotiation: ``format=``/``output=`` first, then ``Accept`` with q-values.

>>> from kg.formats import RESULT_FORMATS
>>> choose(RESULT_FORMATS, "text/csv;q=0.5, application/sparql-results+xml").name
'xml'
>>> choose(RESULT_FORMATS, "text/*").name
'csv'
>>> choose(RESULT_FORMATS, None).name
'json'
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from kg.formats import Format, find

FORMAT_ALIASES = {"rdf+xml": "application/rdf+xml", "n3": "text/turtle",
                  "text/n3": "text/turtle"}
"""``format=`` values that common clients send (SPARQLWrapper: ``rdf+xml``, ``n3``) beyond
the names in :mod:`kg.formats`; Turtle is valid N3, so N3 requests get Turtle."""


class NotAcceptable(Exception):
    """No offered format is acceptable; the message lists what is offered."""

    def __init__(self, offered: Sequence[Format], asked: str) -> None:
        self.offered = [f.media_type for f in offered]
        self.asked = asked
        super().__init__(
            f"none of the formats asked for ({asked}) is offered here; "
            f"offered: {', '.join(self.offered)}"
        )


@lru_cache(maxsize=256)
def parse_accept(header: str) -> tuple[tuple[str, str, float], ...]:
    """``(type, subtype, q)`` for each media range of an ``Accept`` header."""
    ranges: list[tuple[str, str, float]] = []
    for part in header.split(","):
        items = part.strip().split(";")
        media = items[0].strip().lower()
        if not media:
            continue
        if media == "*":
            media = "*/*"
        type_, _, subtype = media.partition("/")
        q = 1.0
        for param in items[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((type_, subtype or "*", q))
    return tuple(ranges)


def quality(media_type: str, ranges: Sequence[tuple[str, str, float]], *,
            exact: bool = False) -> float:
    """The q-value ``ranges`` give ``media_type``: that of the most specific matching range
    (with ``exact``, only a range naming it exactly counts)."""
    type_, _, subtype = media_type.partition("/")
    best_specificity, best_q = -1, 0.0
    for r_type, r_subtype, q in ranges:
        if r_type == type_ and r_subtype == subtype:
            specificity = 2
        elif exact:
            continue
        elif r_type == type_ and r_subtype == "*":
            specificity = 1
        elif r_type == "*" and r_subtype == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def choose(formats: Sequence[Format], accept: str | None, asked: str | None = None) -> Format:
    """The format to answer in: the one named by ``asked`` (a ``format=`` value: short name
    or media type), else the best by ``accept``; ties go to the earlier format, so the
    first is the default. Raises :class:`NotAcceptable`."""
    if asked:
        fmt = find(tuple(formats), FORMAT_ALIASES.get(asked.strip().lower(), asked))
        if fmt is None:
            raise NotAcceptable(formats, f"format={asked}")
        return fmt
    if not accept or not accept.strip():
        return formats[0]
    ranges = parse_accept(accept)
    best: Format | None = None
    best_q = 0.0
    for fmt in formats:
        # wildcards match a format's own media type; aliases only when named exactly
        q = max([quality(fmt.media_type, ranges),
                 *(quality(a, ranges, exact=True) for a in fmt.aliases if "/" in a)])
        if q > best_q:
            best, best_q = fmt, q
    if best is None:
        raise NotAcceptable(formats, accept)
    return best


def prefers(accept: str | None, wanted: str, over: str) -> bool:
    """True when ``accept`` rates media type ``wanted`` strictly above ``over``."""
    if not accept:
        return False
    ranges = parse_accept(accept)
    return quality(wanted, ranges) > quality(over, ranges)
