"""Statistics of a built store: triples per graph, instances per class, use per property."""

from __future__ import annotations

from dataclasses import dataclass

from kg.store import Store


@dataclass
class Stats:
    graphs: dict[str, int]
    classes: dict[str, int]
    properties: dict[str, int]


def _counts(store: Store, sparql: str, key: str) -> dict[str, int]:
    rows = store.query(sparql)
    pairs = [(row[key].value, int(row["n"].value)) for row in rows]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def compute_stats(store: Store) -> Stats:
    """Counts over the union of all graphs (asserted and inferred)."""
    return Stats(
        graphs=store.counts(),
        classes=_counts(
            store,
            "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c",
            "c",
        ),
        properties=_counts(
            store, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p", "p"
        ),
    )
