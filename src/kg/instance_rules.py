"""The OWL 2 RL instance rules, compiled from a closed schema and run to a fixpoint in Python.

The schema (TBox) arrives already closed by owlrl (the ``scm-*`` rules); :class:`Schema` turns
it into lookup tables keyed by property and by class, and :class:`Saturation` applies the rules
of the OWL 2 RL profile (tables 4 to 7 of §4.3: ``eq-*``, ``prp-*``, ``cls-*``, ``cax-*``) to
the facts with a work list: every new triple is joined once against everything known, so each
derivation is found once and the loop stops when the list is empty. Terms stay pyoxigraph
terms throughout (hashable, no conversion to rdflib).

The rules are applied the way owlrl applies them, so that the closure equals owlrl's:
generalized triples are allowed while reasoning (literal subjects, blank-node predicates such
as ``[ owl:inverseOf p ]``) and dropped only by the caller; typed literals get their datatype
and its supertypes (``dt-type2``); rules that only detect inconsistencies are not applied.
One deliberate difference: ``prp-key`` follows the OWL 2 RL specification (all key values
must agree), where owlrl 7 compares all but the last key property.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

import pyoxigraph as ox

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Fact = tuple[Term, Term, Term]

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_XSD = "http://www.w3.org/2001/XMLSchema#"

TYPE = ox.NamedNode(_RDF + "type")
FIRST = ox.NamedNode(_RDF + "first")
REST = ox.NamedNode(_RDF + "rest")
NIL = ox.NamedNode(_RDF + "nil")
SAME_AS = ox.NamedNode(_OWL + "sameAs")
THING = ox.NamedNode(_OWL + "Thing")
XSD_STRING = ox.NamedNode(_XSD + "string")
RDF_LANGSTRING = ox.NamedNode(_RDF + "langString")


def _n(local: str, ns: str = _OWL) -> ox.NamedNode:
    return ox.NamedNode(ns + local)


SUB_CLASS_OF = _n("subClassOf", _RDFS)
SUB_PROPERTY_OF = _n("subPropertyOf", _RDFS)
DOMAIN = _n("domain", _RDFS)
RANGE = _n("range", _RDFS)
EQUIVALENT_CLASS = _n("equivalentClass")
EQUIVALENT_PROPERTY = _n("equivalentProperty")
INVERSE_OF = _n("inverseOf")
ON_PROPERTY = _n("onProperty")
SOME_VALUES_FROM = _n("someValuesFrom")
ALL_VALUES_FROM = _n("allValuesFrom")
HAS_VALUE = _n("hasValue")
INTERSECTION_OF = _n("intersectionOf")
UNION_OF = _n("unionOf")
MAX_CARDINALITY = _n("maxCardinality")
MAX_QUALIFIED_CARDINALITY = _n("maxQualifiedCardinality")
ON_CLASS = _n("onClass")
PROPERTY_CHAIN_AXIOM = _n("propertyChainAxiom")
HAS_KEY = _n("hasKey")
SYMMETRIC = _n("SymmetricProperty")
TRANSITIVE = _n("TransitiveProperty")
FUNCTIONAL = _n("FunctionalProperty")
INVERSE_FUNCTIONAL = _n("InverseFunctionalProperty")

_EMPTY: frozenset = frozenset()


def _closure(edges: dict[Term, set[Term]]) -> dict[Term, tuple[Term, ...]]:
    """Every node's strict ancestors along ``edges`` (node → direct parents)."""
    result: dict[Term, tuple[Term, ...]] = {}
    for start in edges:
        seen: set[Term] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        seen.discard(start)
        result[start] = tuple(seen)
    return result


def _cardinality(term: Term) -> int | None:
    try:
        return int(term.value) if isinstance(term, ox.Literal) else None
    except ValueError:
        return None


@dataclass
class PropertyRules:
    """What one property's triples trigger; see :meth:`Schema.for_property`."""

    supers: tuple = ()
    domains: tuple = ()
    ranges: tuple = ()
    inverses: tuple = ()
    symmetric: bool = False
    transitive: bool = False
    functional: bool = False
    inverse_functional: bool = False
    chain_steps: tuple = ()  # (chain property, steps, position of this property)
    some_values: tuple = ()  # (restriction, filler)
    all_values: tuple = ()  # (restriction, filler)
    has_value: tuple = ()  # (restriction, value)
    max_one: tuple = ()  # restrictions of max (qualified) cardinality 1: (restriction, class)
    keys: tuple = ()  # (class, key properties)
    is_type: bool = False
    is_same_as: bool = False
    empty: bool = False  # nothing to do (unless owl:sameAs facts exist)

    def __post_init__(self) -> None:
        self.restricted = bool(self.some_values or self.all_values or self.has_value
                               or self.max_one)
        self.empty = not (self.supers or self.domains or self.ranges or self.inverses
                          or self.symmetric or self.transitive or self.functional
                          or self.inverse_functional or self.chain_steps or self.restricted
                          or self.keys or self.is_type or self.is_same_as)


@dataclass
class ClassRules:
    """What an ``rdf:type`` triple of one class triggers; see :meth:`Schema.for_class`."""

    supers: tuple = ()
    intersections: tuple = ()  # (intersection class, member classes)
    has_value: tuple = ()  # (property, value): cls-hv1
    all_values: tuple = ()  # (property, filler): cls-avf
    filler_of: tuple = ()  # (restriction, property): cls-svf1 on the value's new type
    max_one: tuple = ()  # (property, on-class): cls-maxc2 / cls-maxqc3-4 on the subject
    on_class_of: tuple = ()  # (restriction, property): cls-maxqc3 on the value's new type
    keys: tuple = ()  # key property tuples: prp-key
    expanded: tuple = ()  # (superclass, its ClassRules), filled by Schema.for_class

    def __post_init__(self) -> None:
        self.active = bool(self.intersections or self.has_value or self.all_values
                           or self.filler_of or self.max_one or self.on_class_of or self.keys)


@dataclass
class Schema:
    """A closed schema compiled into lookup tables for the instance rules."""

    triples: list[Fact]
    sup_classes: dict = field(default_factory=dict)
    sup_properties: dict = field(default_factory=dict)
    domains: dict = field(default_factory=lambda: defaultdict(set))
    ranges: dict = field(default_factory=lambda: defaultdict(set))
    inverses: dict = field(default_factory=lambda: defaultdict(set))
    typed: dict = field(default_factory=lambda: defaultdict(set))  # builtin class → properties
    chains: list = field(default_factory=list)
    restrictions: dict = field(default_factory=lambda: defaultdict(list))  # kind → entries
    intersections: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    _properties: dict = field(default_factory=dict)
    _classes: dict = field(default_factory=dict)

    @classmethod
    def compile(cls, triples: Iterable[Fact]) -> Schema:
        """Lookup tables from the triples of a schema closed under the ``scm-*`` rules."""
        schema = cls(list(triples))
        by_p: dict[Term, list[tuple[Term, Term]]] = defaultdict(list)
        for s, p, o in schema.triples:
            by_p[p].append((s, o))
        first = dict(by_p[FIRST])
        rest = dict(by_p[REST])

        def items(head: Term) -> list[Term]:
            out, seen = [], set()
            while head in first and head not in seen:
                seen.add(head)
                out.append(first[head])
                head = rest.get(head, NIL)
            return out

        by_sp: dict[tuple[Term, Term], list[Term]] = defaultdict(list)
        for s, p, o in schema.triples:
            by_sp[(s, p)].append(o)

        def objects(s: Term, p: Term) -> list[Term]:
            return by_sp.get((s, p), [])

        sub_c: dict[Term, set[Term]] = defaultdict(set)
        for c1, c2 in by_p[SUB_CLASS_OF]:
            sub_c[c1].add(c2)
        for c1, c2 in by_p[EQUIVALENT_CLASS]:
            sub_c[c1].add(c2)
            sub_c[c2].add(c1)
        for c, head in by_p[INTERSECTION_OF]:
            members = items(head)
            sub_c[c].update(members)
            if members:
                schema.intersections.append((c, tuple(members)))
        for c, head in by_p[UNION_OF]:
            for member in items(head):
                sub_c[member].add(c)
        schema.sup_classes = _closure(sub_c)

        sub_p: dict[Term, set[Term]] = defaultdict(set)
        for p1, p2 in by_p[SUB_PROPERTY_OF]:
            sub_p[p1].add(p2)
        for p1, p2 in by_p[EQUIVALENT_PROPERTY]:
            sub_p[p1].add(p2)
            sub_p[p2].add(p1)
        schema.sup_properties = _closure(sub_p)

        for p, c in by_p[DOMAIN]:
            schema.domains[p].add(c)
        for p, c in by_p[RANGE]:
            schema.ranges[p].add(c)
        for p1, p2 in by_p[INVERSE_OF]:
            schema.inverses[p1].add(p2)
            schema.inverses[p2].add(p1)
        for x, c in by_p[TYPE]:
            schema.typed[c].add(x)
        for p, head in by_p[PROPERTY_CHAIN_AXIOM]:
            steps = items(head)
            if steps:
                schema.chains.append((p, tuple(steps)))
        for c, head in by_p[HAS_KEY]:
            props = items(head)
            if props:
                schema.keys.append((c, tuple(props)))

        on_property = by_p[ON_PROPERTY]
        kinds = {SOME_VALUES_FROM: "svf", ALL_VALUES_FROM: "avf", HAS_VALUE: "hv"}
        for r, prop in on_property:
            for predicate, kind in kinds.items():
                for value in objects(r, predicate):
                    schema.restrictions[kind].append((r, prop, value))
            for n in objects(r, MAX_CARDINALITY):
                if _cardinality(n) == 1:
                    schema.restrictions["max1"].append((r, prop, THING))
            for n in objects(r, MAX_QUALIFIED_CARDINALITY):
                if _cardinality(n) == 1:
                    for on_class in objects(r, ON_CLASS):
                        schema.restrictions["max1"].append((r, prop, on_class))
        return schema

    def reverse_needed(self) -> set[Term]:
        """Properties whose triples must also be indexed by object."""
        needed = set(self.typed[TRANSITIVE]) | set(self.typed[INVERSE_FUNCTIONAL])
        for _, steps in self.chains:
            needed.update(steps)
        for kind in ("svf", "max1"):
            needed.update(prop for _, prop, _ in self.restrictions[kind])
        return needed

    def for_property(self, p: Term) -> PropertyRules:
        """The rules a triple with predicate ``p`` triggers (cached)."""
        rules = self._properties.get(p)
        if rules is None:
            rules = self._properties[p] = PropertyRules(
                supers=self.sup_properties.get(p, ()),
                domains=tuple(self.domains.get(p, ())),
                ranges=tuple(self.ranges.get(p, ())),
                inverses=tuple(self.inverses.get(p, ())),
                symmetric=p in self.typed[SYMMETRIC],
                transitive=p in self.typed[TRANSITIVE],
                functional=p in self.typed[FUNCTIONAL],
                inverse_functional=p in self.typed[INVERSE_FUNCTIONAL],
                chain_steps=tuple((q, steps, i) for q, steps in self.chains
                                  for i, step in enumerate(steps) if step == p),
                some_values=tuple((r, y) for r, q, y in self.restrictions["svf"] if q == p),
                all_values=tuple((r, y) for r, q, y in self.restrictions["avf"] if q == p),
                has_value=tuple((r, v) for r, q, v in self.restrictions["hv"] if q == p),
                max_one=tuple((r, c) for r, q, c in self.restrictions["max1"] if q == p),
                keys=tuple((c, props) for c, props in self.keys if p in props),
                is_type=p == TYPE,
                is_same_as=p == SAME_AS,
            )
        return rules

    def for_class(self, c: Term) -> ClassRules:
        """The rules a triple ``x rdf:type c`` triggers (cached)."""
        rules = self._classes.get(c)
        if rules is None:
            rules = self._classes[c] = ClassRules(
                supers=self.sup_classes.get(c, ()),
                intersections=tuple(i for i in self.intersections if c in i[1]),
                has_value=tuple((q, v) for r, q, v in self.restrictions["hv"] if r == c),
                all_values=tuple((q, y) for r, q, y in self.restrictions["avf"] if r == c),
                filler_of=tuple((r, q) for r, q, y in self.restrictions["svf"]
                                if y == c and y != THING),
                max_one=tuple((q, k) for r, q, k in self.restrictions["max1"] if r == c),
                on_class_of=tuple((r, q) for r, q, k in self.restrictions["max1"]
                                  if k == c and k != THING),
                keys=tuple(props for k, props in self.keys if k == c),
            )
            rules.expanded = tuple((d, self.for_class(d)) for d in rules.supers)
        return rules


class Saturation:
    """The closure of a set of facts under the OWL 2 RL instance rules of a :class:`Schema`.

    ``add_initial`` the facts, :meth:`run`, then read :attr:`derived`: the facts the rules
    added, in the order found, each once.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.spo: dict[Term, dict[Term, set[Term]]] = {}
        self.pos: dict[Term, dict[Term, set[Term]]] = {}
        self.reverse = schema.reverse_needed()
        self.reverse_all = False
        self.derived: list[Fact] = []
        self._queue: list[Fact] = []
        self._keys: dict[tuple, dict[tuple, set[Term]]] = defaultdict(dict)
        type_rules = schema.for_property(TYPE)
        type_rules_own = (type_rules.domains or type_rules.ranges or type_rules.inverses
                          or type_rules.symmetric or type_rules.transitive
                          or type_rules.functional or type_rules.inverse_functional
                          or type_rules.chain_steps or type_rules.restricted or type_rules.keys
                          or type_rules.supers)
        self._type_plain = not type_rules_own

    def add_initial(self, facts: Iterable[Fact]) -> list[Fact]:
        """Add facts given, not derived (asserted triples, the closed schema); returns those
        not known yet. They wait in the work list like derived ones."""
        queue = self._queue
        before = len(queue)
        record = self._record
        for fact in facts:
            if record(*fact):
                queue.append(fact)
        return queue[before:]

    def _new_property(self, p: Term) -> dict[Term, set[Term]]:
        by_s: dict[Term, set[Term]] = {}
        self.spo[p] = by_s
        if self.reverse_all or p in self.reverse:
            self.pos[p] = {}
        return by_s

    def _record(self, s: Term, p: Term, o: Term) -> bool:
        """Index a fact by subject (and by object where rules need it); False if known."""
        by_s = self.spo.get(p)
        if by_s is None:
            by_s = self._new_property(p)
        objects = by_s.get(s)
        if objects is None:
            by_s[s] = {o}
        elif o in objects:
            return False
        else:
            objects.add(o)
        reverse = self.pos.get(p)
        if reverse is not None:
            subjects = reverse.get(o)
            if subjects is None:
                reverse[o] = {s}
            else:
                subjects.add(s)
        return True

    def add(self, s: Term, p: Term, o: Term) -> None:
        """Record a derived fact unless known; it then waits in the work list."""
        if not self._record(s, p, o):
            return
        fact = (s, p, o)
        self._queue.append(fact)
        self.derived.append(fact)

    def _index_all_by_object(self) -> None:
        """From the first owl:sameAs on: every property is indexed by object (eq-rep-o)."""
        if self.reverse_all:
            return
        self.reverse_all = True
        for p, by_s in self.spo.items():
            if p in self.pos:
                continue
            reverse: dict[Term, set[Term]] = defaultdict(set)
            for s, objects in by_s.items():
                for o in objects:
                    reverse[o].add(s)
            self.pos[p] = dict(reverse)

    def type_literals(self) -> None:
        """``dt-type2`` and the datatype subsumptions of owlrl's one-time rules: each typed
        literal of the facts (not ``xsd:string``, which owlrl sees as plain) is an instance of
        its datatype and of that datatype's supertypes; so are resources asserted to be of an
        OWL 2 RL datatype, or the same as such a literal."""
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        rl = {ox.NamedNode(str(d)) for d in OWL_RL_Datatypes}
        supers = {ox.NamedNode(str(d)): [ox.NamedNode(str(x)) for x in xs]
                  for d, xs in OWL_Datatype_Subsumptions.items()}
        literal_type: dict[Term, Term] = {}
        for by_s in self.spo.values():
            for objects in by_s.values():
                for o in objects:
                    if isinstance(o, ox.Literal) and o not in literal_type:
                        dt = o.datatype
                        if o.language is None and dt != XSD_STRING and dt in rl:
                            literal_type[o] = dt
        explicit: list[tuple[Term, Term]] = []
        for s, types in list(self.spo.get(TYPE, {}).items()):
            explicit.extend((s, t) for t in types if t in rl and s not in literal_type)
        for s, objects in list(self.spo.get(SAME_AS, {}).items()):
            explicit.extend((s, literal_type[o]) for o in objects if o in literal_type)
        for lit, dt in literal_type.items():
            self.add(lit, TYPE, dt)
            for sup in supers.get(dt, ()):
                self.add(lit, TYPE, sup)
        for s, dt in explicit:
            for sup in supers.get(dt, ()):
                self.add(s, TYPE, sup)

    def run(self) -> None:
        """Apply the rules until nothing new follows."""
        rules_for = self.schema._properties
        compile_rules = self.schema.for_property
        spo = self.spo
        while self._queue:
            batch, self._queue = self._queue, []
            for s, p, o in batch:
                rules = rules_for.get(p) or compile_rules(p)
                if rules.empty and SAME_AS not in spo:
                    continue
                self._fire(s, p, o, rules)

    def _types(self, x: Term) -> set[Term] | frozenset:
        by_s = self.spo.get(TYPE)
        return by_s.get(x, _EMPTY) if by_s else _EMPTY

    def _objects(self, s: Term, p: Term) -> list[Term]:
        by_s = self.spo.get(p)
        return list(by_s.get(s, ())) if by_s else []

    def _subjects(self, p: Term, o: Term) -> list[Term]:
        by_o = self.pos.get(p)
        return list(by_o.get(o, ())) if by_o else []

    def _fire(self, s: Term, p: Term, o: Term, rules: PropertyRules) -> None:
        add = self.add
        if rules.is_type:
            self._fire_type(s, o)
        for q in rules.supers:  # prp-spo1, prp-eqp1/2
            add(s, q, o)
        for c in rules.domains:  # prp-dom
            add(s, TYPE, c)
        for c in rules.ranges:  # prp-rng
            add(o, TYPE, c)
        for q in rules.inverses:  # prp-inv1/2
            add(o, q, s)
        if rules.symmetric:  # prp-symp
            add(o, p, s)
        if rules.transitive:  # prp-trp
            for z in self._objects(o, p):
                add(s, p, z)
            for w in self._subjects(p, s):
                add(w, p, o)
        if rules.functional:  # prp-fp
            for y in self._objects(s, p):
                if y != o:
                    add(o, SAME_AS, y)
        if rules.inverse_functional:  # prp-ifp
            for x in self._subjects(p, o):
                if x != s:
                    add(s, SAME_AS, x)
        for q, steps, i in rules.chain_steps:  # prp-spo2
            self._chain(q, steps, i, s, o)
        if rules.restricted:
            types_s, types_o = self._types(s), self._types(o)
            for r, y in rules.some_values:  # cls-svf1/2
                if y == THING or y in types_o:
                    add(s, TYPE, r)
            for r, y in rules.all_values:  # cls-avf
                if r in types_s:
                    add(o, TYPE, y)
            for r, v in rules.has_value:  # cls-hv2
                if o == v:
                    add(s, TYPE, r)
            for r, k in rules.max_one:  # cls-maxc2, cls-maxqc3/4
                if r in types_s and (k == THING or k in types_o):
                    self._same_values(s, p, k, o)
        for c, props in rules.keys:  # prp-key
            if c in self._types(s):
                self._key(s, c, props)
        if rules.is_same_as and s != o:
            self._fire_same(s, o)
        same = self.spo.get(SAME_AS)
        if same:  # eq-rep-s, eq-rep-p, eq-rep-o for facts arriving after the sameAs
            for x in same.get(s, ()):
                add(x, p, o)
            for x in same.get(p, ()):
                add(s, x, o)
            for x in same.get(o, ()):
                add(s, p, x)

    def _fire_type(self, x: Term, c: Term) -> None:
        """``x rdf:type c``: its superclasses are added here (cax-sco, cax-eqc1/2, cls-int2,
        cls-uni), and their own class rules run at once, unless ``rdf:type`` triples have
        rules of their own or ``owl:sameAs`` facts exist: then they wait in the work list."""
        rules = self.schema.for_class(c)
        if rules.expanded:
            types = self.spo[TYPE][x]
            reverse = self.pos.get(TYPE)
            inline = self._type_plain and SAME_AS not in self.spo
            for d, rules_d in rules.expanded:
                if d in types:
                    continue
                types.add(d)
                if reverse is not None:
                    reverse.setdefault(d, set()).add(x)
                fact = (x, TYPE, d)
                self.derived.append(fact)
                if not inline:
                    self._queue.append(fact)
                elif rules_d.active:
                    self._class_rules(x, d, rules_d)
        if rules.active:
            self._class_rules(x, c, rules)

    def _class_rules(self, x: Term, c: Term, rules: ClassRules) -> None:
        add = self.add
        if rules.intersections:  # cls-int1
            types = self._types(x)
            for i, members in rules.intersections:
                if all(m in types for m in members):
                    add(x, TYPE, i)
        for q, v in rules.has_value:  # cls-hv1
            add(x, q, v)
        for q, y in rules.all_values:  # cls-avf
            for v in self._objects(x, q):
                add(v, TYPE, y)
        for r, q in rules.filler_of:  # cls-svf1
            for u in self._subjects(q, x):
                add(u, TYPE, r)
        for q, k in rules.max_one:  # cls-maxc2, cls-maxqc3/4
            for y in self._objects(x, q):
                if k == THING or k in self._types(y):
                    self._same_values(x, q, k, y)
        for r, q in rules.on_class_of:  # cls-maxqc3
            for u in self._subjects(q, x):
                if r in self._types(u):
                    self._same_values(u, q, c, x)
        for props in rules.keys:  # prp-key
            self._key(x, c, props)

    def _same_values(self, x: Term, p: Term, k: Term, y: Term) -> None:
        """``y`` is the same as every other ``p`` value of ``x`` in class ``k``."""
        for y2 in self._objects(x, p):
            if y2 != y and (k == THING or k in self._types(y2)):
                self.add(y, SAME_AS, y2)

    def _chain(self, q: Term, steps: tuple, i: int, s: Term, o: Term) -> None:
        starts = {s}
        for step in reversed(steps[:i]):
            starts = {w for x in starts for w in self._subjects(step, x)}
            if not starts:
                return
        ends = {o}
        for step in steps[i + 1:]:
            ends = {z for x in ends for z in self._objects(x, step)}
            if not ends:
                return
        for x in starts:
            for z in ends:
                self.add(x, q, z)

    def _key(self, x: Term, c: Term, props: tuple) -> None:
        values = [self._objects(x, p) for p in props]
        if not all(values):
            return
        index = self._keys[(c, props)]
        for combination in product(*values):
            holders = index.setdefault(combination, set())
            for y in list(holders):
                if y != x:
                    self.add(x, SAME_AS, y)
            holders.add(x)

    def _fire_same(self, x: Term, y: Term) -> None:
        """eq-sym, eq-trans, and eq-rep-s/p/o for the facts known when ``x = y`` arrives."""
        self._index_all_by_object()
        add = self.add
        add(y, SAME_AS, x)
        for z in self._objects(y, SAME_AS):
            if z != x:
                add(x, SAME_AS, z)
        for p in list(self.spo):
            for o in self._objects(x, p):
                add(y, p, o)
        for s, objects in list(self.spo.get(x, {}).items()):
            for o in list(objects):
                add(s, y, o)
        for p in list(self.pos):
            for s in self._subjects(p, x):
                add(s, p, y)
