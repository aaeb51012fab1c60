"""The ontology's class definitions compiled to flat Python over integer bitsets of card facts.

Why: :class:`atmp.core.engines.evaluator.ProductContext` interprets the expression tree (rdflib terms,
``isinstance`` dispatch, recursive calls) — about 4 million calls for 10,000 cards, 40 % of a batch.
The decision itself is tiny (~30 facts against ~100 defined classes), so at load every definition
is turned into generated Python source:

* each card property gets an integer slot; each value it can take (its vocabulary codes, its
  ``atmp:valueWhenAbsent`` default, ``true``/``false``) a bit in that slot, so a product is a tuple
  of small ints;
* a restriction becomes one bit test: ``P some F`` is ``v[p] & mask(F) != 0`` where ``mask(F)`` is
  the set of values that are members of ``F`` (vocabulary membership does not depend on the product,
  so it is decided once, here); ``P only F`` is ``v[p] & ~mask(F) == 0``; ``P value x`` one bit;
  ``P max 0`` is ``v[p] == 0``;
* each named class becomes a function with the evaluator's exact three-valued rules (first true
  definition, else a false one, else a true subclass, else unknown), memoised per product in a list.

Two shortcuts keep the rules and cut the calls: a call site reads the callee's memo slot first and
calls only when the class is not decided yet (most calls are answered there), and a class from which
no cycle of calls can be reached gets a plain form without the cycle bookkeeping below (which could
never fire for it). On 1,000 generated cards with brief explanations this took the compiled
functions from 8.1 to 6.3 million calls; ``tests/test_compiled.py`` checks both forms against the
interpreter, in shuffled order.

Nothing here names a rule: the source is generated from whatever :class:`Definitions` holds, so an
edited ontology compiles to different code. The interpreter's rules are kept verbatim, including
those for definitional cycles (``C ⊑ X`` with ``C ≡ X ⊓ …`` is one; most classes sit on such a
cycle): a class met again while being decided is unknown, and an unknown reached through a cycle is
not remembered. A product whose facts fall outside the compiled vocabulary (a value the ontology
does not list) is left to the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import CodeType
from typing import TYPE_CHECKING

from rdflib import URIRef

from atmp.core.engines.expressions import And, Expr, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some, UnsupportedAxiom

if TYPE_CHECKING:  # the evaluator builds these objects and imports this module: no cycle at run time
    from atmp.core.engines.evaluator import Evaluator

UNSET = object()  # a class not evaluated yet for this product (None is "unknown")


class CompiledClasses:
    """Generated membership functions for one set of asserted product types.

    ``encode(values)`` turns a product's ``property -> values`` into the bitset tuple (or ``None`` when
    a value is outside the vocabulary); ``functions[index[cls]](bits, memo)`` is the three-valued
    membership of ``cls``, with ``memo = new_memo(product_iri)`` per product.
    """

    def __init__(self, ev: Evaluator, props: Sequence[URIRef], universe: dict[URIRef, Sequence], types: frozenset, code: CodeType | None = None):
        self.ev = ev
        self.types = types
        defs = ev.defs
        self.props = tuple(props)
        self.slot = {p: i for i, p in enumerate(self.props)}
        self.zero_slot = len(self.props)  # properties no card field carries: never a value
        # per slot: value -> bit
        self.bits: list[dict] = []
        for p in self.props:
            values = list(dict.fromkeys(universe.get(p, ())))
            self.bits.append({v: 1 << i for i, v in enumerate(values)})
        classes: set[URIRef] = set(defs.equivalents) | set(defs.subclasses)
        for subs in defs.subclasses.values():
            classes.update(subs)
        for exprs in defs.equivalents.values():
            for e in exprs:
                classes.update(_named(e))
        classes |= set(types)
        classes.add(ev.thing)
        self.classes = sorted(classes, key=str)
        self.index = {c: i for i, c in enumerate(self.classes)}
        nodes = self._nodes()
        if code is None:  # ``code``: the same source compiled earlier (atmp.core.rules.cache)
            self.source = self._generate(nodes)
            code = compile(self.source, "<atmp compiled ontology>", "exec")
        self.code = code
        functions: list = []
        namespace = {"UNSET": UNSET, "URIRef": URIRef, "F": functions, "FUNCTIONS": functions, "NODES": []}
        exec(code, namespace)  # noqa: S102 - our own generated code, from the ontology
        self.functions: list[Callable] = namespace["FUNCTIONS"]
        if len(self.functions) != len(self.classes) or len(namespace["NODES"]) != len(nodes):
            raise ValueError("compiled code does not fit these definitions")
        self.node_functions: dict[int, Callable] = {id(e): f for e, f in zip(nodes, namespace["NODES"], strict=True)}
        self._plans: dict[tuple, tuple] = {}
        self._defs_alive = defs  # node ids are valid while the definitions live
        self.n = len(self.classes)

    # -- products
    def plan(self, classes) -> tuple[tuple[URIRef, Callable | None], ...]:
        """``(class, its function or None)`` for a list of classes, looked up once per distinct list."""
        key = tuple(classes)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = tuple((c, self.functions[self.index[c]] if c in self.index else None) for c in key)
        return found

    def encode(self, values: dict[URIRef, tuple]) -> tuple[int, ...] | None:
        out = [0] * (len(self.props) + 1)
        for prop, vals in values.items():
            slot = self.slot.get(prop)
            if slot is None:
                if vals:
                    return None
                continue
            bits = self.bits[slot]
            acc = 0
            for v in vals:
                b = bits.get(v)
                if b is None:
                    return None
                acc |= b
            out[slot] = acc
        return tuple(out)

    def new_memo(self, iri: URIRef) -> list:
        """Per-product state: the memo per class, the "being decided" flag per class, the cycle flag, the product IRI."""
        return [UNSET] * self.n + [False] * self.n + [False, iri]

    # -- code generation
    def _acyclic(self) -> set[URIRef]:
        """Classes from which the generated code can reach no cycle of calls (definitions' named classes and subclasses).

        Why: the cycle rules (the being-decided flag, the cycle flag, not remembering an unknown) can
        only fire for a class that is met again while it is being decided, i.e. on a cycle of calls,
        and only change what is remembered when such a cycle lies below. A class from which no cycle
        is reachable gets the plain form: look up, decide, remember. The answers are the same; the
        form is shorter where most calls happen.
        """
        calls: dict[URIRef, set[URIRef]] = {}
        for cls in self.classes:
            out: set[URIRef] = set()
            if not (cls is self.ev.thing or cls in self.types):
                for e in self.ev.defs.equivalents.get(cls, ()):
                    out |= _named(e)
                out.update(self.ev.defs.subclasses.get(cls, ()))
            calls[cls] = out
        # iterative DFS: a class is acyclic when it is not on the stack of its own walk and all it calls are acyclic
        state: dict[URIRef, int] = {}  # 1 being walked, 2 acyclic, 3 reaches a cycle
        for root in self.classes:
            if root in state:
                continue
            stack = [(root, iter(sorted(calls[root], key=str)))]
            state[root] = 1
            while stack:
                cls, todo = stack[-1]
                nxt = next(todo, None)
                if nxt is None:
                    stack.pop()
                    if state[cls] == 1:
                        state[cls] = 2
                    if stack and state[cls] == 3:
                        state[stack[-1][0]] = 3
                    continue
                seen = state.get(nxt)
                if seen is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(sorted(calls.get(nxt, ()), key=str))))
                elif seen in (1, 3):  # on the stack: a cycle; or below a cycle
                    state[cls] = 3
        return {c for c, st in state.items() if st == 2}

    def _mask(self, slot: int, filler: Expr) -> int:
        """Bits of the values of ``slot`` that are members of ``filler`` (booleans always are)."""
        prop = self.props[slot]
        mask = 0
        for value, bit in self.bits[slot].items():
            if isinstance(value, bool) or self.ev._vocab_eval(value, filler, frozenset()):
                mask |= bit
        del prop
        return mask

    def _nodes(self) -> list[Expr]:
        """Every node of every definition, in a fixed order (the generated ``NODES`` follow it)."""
        nodes: list[Expr] = []

        def collect(e: Expr) -> None:
            nodes.append(e)
            for child in e.items if isinstance(e, (And, Or)) else (e.item,) if isinstance(e, Not) else ():
                collect(child)

        for exprs in self.ev.defs.equivalents.values():
            for e in exprs:
                collect(e)
        return nodes

    def _generate(self, nodes: list[Expr]) -> str:
        lines: list[str] = []
        consts: list[str] = []
        helpers: list[str] = []
        counter = [0]
        cycle_slot, iri_slot = 2 * len(self.classes), 2 * len(self.classes) + 1

        def leaf(e: Expr) -> str:
            slot = self.slot.get(e.prop, self.zero_slot)  # type: ignore[attr-defined]
            if isinstance(e, MaxZero):
                return f"(v[{slot}] == 0)"
            if slot == self.zero_slot:  # no value ever: some/value false, only true
                return "True" if isinstance(e, Only) else "False"
            if isinstance(e, HasValue):
                bit = self.bits[slot].get(e.value)
                return "False" if bit is None else f"(v[{slot}] & {bit} != 0)"
            mask = self._mask(slot, e.filler)  # type: ignore[attr-defined]
            if isinstance(e, Some):
                return f"(v[{slot}] & {mask} != 0)"
            full = sum(self.bits[slot].values())
            return f"(v[{slot}] & {full & ~mask} == 0)"

        def two_valued(e: Expr) -> bool:
            if isinstance(e, Named):
                return False
            if isinstance(e, (And, Or)):
                return all(two_valued(i) for i in e.items)
            if isinstance(e, Not):
                return two_valued(e.item)
            return True

        generated: dict[int, str] = {}

        def expr(e: Expr) -> str:
            """A Python expression giving True/False/None for ``e`` (generated once per node)."""
            found = generated.get(id(e))
            if found is None:
                found = generated[id(e)] = _expr(e)
            return found

        def _expr(e: Expr) -> str:
            if isinstance(e, Named):  # the callee's memo look-up, at the call site: most calls are answered there
                j = self.index[e.iri]
                return f"(c{j}(v, m) if m[{j}] is UNSET else m[{j}])"
            if isinstance(e, OneOf):
                name = f"K{len(consts)}"
                consts.append(f"{name} = frozenset(({''.join(f'URIRef({str(m)!r}), ' for m in sorted(e.members, key=str))}))")
                return f"(m[{iri_slot}] in {name})"
            if isinstance(e, (Some, Only, HasValue, MaxZero)):
                return leaf(e)
            if two_valued(e):
                if isinstance(e, Not):
                    return f"(not {expr(e.item)})"
                joiner = " and " if isinstance(e, And) else " or "
                return "(" + joiner.join(expr(i) for i in e.items) + ")" if e.items else ("True" if isinstance(e, And) else "False")
            counter[0] += 1
            name = f"e{counter[0]}"
            body = [f"def {name}(v, m):"]
            if isinstance(e, Not):
                body += [f"    x = {expr(e.item)}", "    return None if x is None else not x"]
            else:  # Kleene: one deciding item wins, unknown otherwise wins over the other value
                decide, other = (False, True) if isinstance(e, And) else (True, False)
                body.append("    u = False")
                for i in e.items:
                    body += [f"    x = {expr(i)}", f"    if x is {decide}:", f"        return {decide}", "    if x is None:", "        u = True"]
                body.append(f"    return None if u else {other}")
            helpers.append("\n".join(body))
            return f"{name}(v, m)"

        n = len(self.classes)
        acyclic = self._acyclic()
        for i, cls in enumerate(self.classes):
            body = [f"def c{i}(v, m):", f"    r = m[{i}]", "    if r is not UNSET:", "        return r"]
            if cls is self.ev.thing or cls in self.types:
                body += [f"    m[{i}] = True", "    return True"]
                lines.append("\n".join(body))
                continue
            cyclic = cls not in acyclic
            if cyclic:
                # the interpreter's rules for a definitional cycle, verbatim: a class met again while
                # it is being decided is unknown, and an unknown reached through a cycle is not remembered
                body += [
                    f"    if m[{n + i}]:",
                    f"        m[{cycle_slot}] = True",
                    "        return None",
                    f"    outer = m[{cycle_slot}]",
                    f"    m[{cycle_slot}] = False",
                    f"    m[{n + i}] = True",
                ]
            definitions = self.ev.defs.equivalents.get(cls, ())
            names = []
            for k, e in enumerate(definitions):  # every definition is evaluated, as the interpreter does
                body.append(f"    d{k} = {expr(e)}")
                names.append(f"d{k}")
            if len(names) == 1:  # one definition: its three-valued answer is the class's
                body.append(f"    r = {names[0]}")
            elif names:
                body += [
                    f"    if {' or '.join(f'{d} is True' for d in names)}:",
                    "        r = True",
                    f"    elif {' or '.join(f'{d} is False' for d in names)}:",
                    "        r = False",
                    "    else:",
                    "        r = None",
                ]
            else:
                body.append("    r = None")
            subs = self.ev.defs.subclasses.get(cls, ())
            if subs:
                body.append("    if r is None and (" + " or ".join(f"{_expr(Named(sub))} is True" for sub in subs) + "):")
                body.append("        r = True")
            if cyclic:
                body += [
                    f"    m[{n + i}] = False",
                    f"    if not m[{cycle_slot}] or r is not None:",
                    f"        m[{i}] = r",
                    f"    m[{cycle_slot}] = outer or m[{cycle_slot}]",
                    "    return r",
                ]
            else:  # no cycle below: never met again while being decided, never an unknown through a cycle
                body += [f"    m[{i}] = r", "    return r"]
            lines.append("\n".join(body))
        # every node of every definition as a function of its own: what ProductContext.holds asks
        # while explaining (keyed by the node's id: the definitions keep the nodes alive)
        for k, e in enumerate(nodes):
            lines.append(f"def x{k}(v, m):\n    return {expr(e)}")
        lines.append("NODES[:] = [" + ", ".join(f"x{k}" for k in range(len(nodes))) + "]")
        lines.append("FUNCTIONS[:] = [" + ", ".join(f"c{i}" for i in range(len(self.classes))) + "]")
        return "\n\n".join(consts + helpers + lines) + "\n"


def _named(e: Expr) -> set[URIRef]:
    if isinstance(e, Named):
        return {e.iri}
    if isinstance(e, (And, Or)):
        out: set[URIRef] = set()
        for i in e.items:
            out |= _named(i)
        return out
    if isinstance(e, Not):
        return _named(e.item)
    return set()  # fillers are vocabulary classes, evaluated at compile time


__all__ = ["CompiledClasses", "UNSET", "UnsupportedAxiom"]
