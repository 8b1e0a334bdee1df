"""Turn a regular expression into a graph of cpppo states, by way of greenery 4.

greenery compiles the expression to a minimal finite state machine whose
alphabet is a partition of the characters into classes.  Each greenery state
becomes one consuming state (it takes the symbol that led into it); the entry
is a null copy of the initial state, so nothing is consumed before the
expression accepts it.  Dead states (non-final states that only loop back to
themselves, where greenery parks input outside the language) are dropped: a
symbol outside the language then has no transition, so the machine stops.

Small character classes become plain dict transitions (one lookup per
symbol); large or negated ones become predicate transitions.  Over a byte
stream (``encoding='utf-8'``) a character whose encoding is several bytes
is matched through a chain of intermediate states, one per byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import greenery

from .inputs import state_input
from .nodes import state

__all__ = ["from_regex"]

#: Classes with at most this many characters get one dict entry per character.
_SMALL_CLASS = 128


def _compile(expression: Any) -> tuple[str, Any]:
    """(text, greenery Fsm) from a regex string, a greenery Pattern or a greenery Fsm."""
    if isinstance(expression, str):
        return expression, greenery.parse(expression).to_fsm()
    if isinstance(expression, greenery.Pattern):
        return str(expression), expression.to_fsm()
    if isinstance(expression, greenery.Fsm):
        return str(expression), expression
    raise TypeError(f"a regular expression, greenery Pattern or Fsm is needed, not {expression!r}")


def _byte_predicate(charclass: Any) -> Callable[[Any], bool]:
    accepts = charclass.accepts
    return lambda sym: isinstance(sym, int) and accepts(chr(sym))


def from_regex(expression: Any, state_class: type = state_input, alphabet: Any = None,
               typecode: str | None = None, context: str | None = None,
               encoding: str | None = None) -> tuple[str, state]:
    """Build the states for *expression*; returns (expression text, initial null state)."""
    text, fsm = _compile(expression)
    kwds: dict[str, Any] = {"context": context, "alphabet": alphabet}
    if typecode is not None:
        kwds["typecode"] = typecode
    live = {s for s in fsm.states if fsm.islive(s)}
    nodes = {s: state_class(str(s), terminal=s in fsm.finals, **kwds) for s in live}
    extra = 0

    for pre in live:
        node = nodes[pre]
        table = fsm.map.get(pre, {})
        # Plain transitions first, then predicates (negated/large classes) in a stable order.
        ordered = sorted(table.items(), key=lambda kv: (kv[0].negated, kv[0].num_chars(), str(kv[0])))
        for charclass, dst in ordered:
            if dst not in live:
                continue
            target = nodes[dst]
            small = not charclass.negated and charclass.num_chars() <= _SMALL_CLASS
            if encoding is None:
                if small:
                    for ch in charclass.get_chars():
                        node[ch] = target
                else:
                    node[charclass.accepts] = target
                continue
            if not small:
                node[_byte_predicate(charclass)] = target
                continue
            for ch in charclass.get_chars():
                encoded = ch.encode(encoding)
                hop = node
                for byte in encoded[:-1]:
                    nxt = hop.get(byte)
                    if not isinstance(nxt, state) or nxt.terminal or nxt in nodes.values():
                        extra += 1
                        nxt = state_class(f"{pre}~{extra}", terminal=False, **kwds)
                        hop[byte] = nxt
                    hop = nxt
                hop[encoded[-1]] = target

    initial = fsm.initial
    if initial not in live:  # the expression matches nothing at all
        return text, state_class(str(initial), terminal=False, **kwds)
    entry = state(nodes[initial])  # a null copy: transitions and terminal flag, no input consumed
    entry.alphabet = None
    return text, entry
