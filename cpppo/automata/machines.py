"""Machines: ``dfa`` (a state that runs a graph of states) and ``regex`` (one built by greenery).

A ``dfa`` is itself a state, so machines compose: when the sub-machine cannot
use the next symbol and has stopped in a terminal state, the enclosing machine
gets its chance to transition on it (the documented CSV-of-``ab+`` example).
Running a machine yields ``(machine, state)`` for every transition, by every
machine at every depth, and ``(machine, None)`` when it cannot go on with the
input it has: the caller then chains more input (and carries on iterating the
same generator), or stops.  A machine that makes no progress twice in a row
with no new input is done; if it is not then in a terminal state it raises
:class:`NonTerminal` (never a hang).

Strategy: the run-time state (the current sub-state, the repeat cycle, the
progress marks) lives in a :class:`~cpppo.automata.engine.Frame` that the
:class:`~cpppo.automata.engine.Engine` (or a linear
:class:`~cpppo.automata.feeder.Feeder`) keeps per run, so one machine graph
may run any number of interleaved parses, one per connection: no run reads
anything another writes.  For inspection, as the original offered it, a
machine keeps ``last_run``, the frame of the latest run to enter it (set when
a run enters the machine, read by no run); ``.current``, ``.cycle``,
``.final`` and ``.terminal`` report that run.
"""

from __future__ import annotations

from typing import Any

from .engine import Frame
from .inputs import state_drop, state_input
from .nodes import state

__all__ = ["dfa_base", "dfa", "dfa_input", "dfa_drop", "regex", "regex_bytes"]


class dfa_base(state):
    """Runs the sub-machine starting at *initial*, *repeat* times (an int or a data path).

    ``terminal=True`` makes the machine terminal when its sub-machine ends in a
    terminal state.  ``greedy=False`` stops the sub-machine at the first
    terminal state it reaches, instead of going on while transitions exist.
    """

    simple = False

    def __init__(self, name: Any = None, initial: state | None = None, repeat: int | str | None = None,
                 **kwds: Any) -> None:
        if initial is None:
            raise ValueError("a dfa needs an initial state")
        super().__init__(name or type(self).__name__, **kwds)
        self.initial = initial
        self.repeat = repeat
        self.last_run: Frame | None = None

    @property
    def current(self) -> state:
        """The state the latest run to enter this machine is in (or stopped in); *initial* before any."""
        run = self.last_run
        return self.initial if run is None else run.current

    @property
    def cycle(self) -> int:
        """The latest run's count of sub-machine runs so far (0 before any run)."""
        run = self.last_run
        return 0 if run is None else run.cycle

    @property
    def final(self) -> int:
        """The number of sub-machine runs the latest run must make (its *repeat*)."""
        run = self.last_run
        return 1 if run is None else run.final

    @property
    def name(self) -> str:
        return f"{self._name}.{self.current}"

    @property
    def terminal(self) -> bool:
        """Terminal if created terminal, its (latest run's) sub-machine ended terminal, and no cycles remain."""
        return self._terminal and self.current.terminal and self.cycle >= self.final

    def _cycles(self, path: str | None, data: Any) -> int:
        repeat = self.repeat
        if repeat is None:
            return 1
        if isinstance(repeat, str):
            repeat = data.get(self.context(path, repeat), 0) if data is not None else 0
        if not isinstance(repeat, int):
            raise TypeError(f"{self}: repeat {self.repeat!r} must be (or name) an int, not {repeat!r}")
        return repeat


class dfa(dfa_base, state):
    """A deterministic finite automaton: a state that runs a graph of states."""


class dfa_input(dfa_base, state_input):
    """A machine whose entry collects the symbol that led to it, as a ``state_input`` does (the original's name)."""


class dfa_drop(dfa_base, state_drop):
    """A machine whose entry consumes and drops the symbol that led to it, as a ``state_drop`` does."""


class regex(dfa):
    """A machine that accepts the language of a regular expression (compiled by greenery 4).

    Each regex state consumes the symbol that leads into it, collecting it at
    ``<path>.<context>.input``; the initial state is a null copy, so the first
    symbol is not consumed until the expression accepts it.  Only states in
    which the expression has matched are terminal, so a ``regex(...,
    terminal=True)`` is terminal after a run if and only if the input it
    consumed is a sentence of the expression.  The default name is the
    expression itself.
    """

    def __init__(self, name: Any = None, initial: Any = None, regex_states: type = state_input,
                 regex_alphabet: Any = None, regex_typecode: str | None = None,
                 regex_context: str | None = None, regex_encoding: str | None = None, **kwds: Any) -> None:
        if initial is None:
            raise ValueError("a regex needs an expression (initial=...)")
        from .regexes import from_regex  # here, so that greenery loads only when a regex is built

        text, start = from_regex(initial, state_class=regex_states, alphabet=regex_alphabet,
                                 typecode=regex_typecode, context=regex_context, encoding=regex_encoding)
        self.regex = text
        super().__init__(name if name is not None else text, initial=start, **kwds)


class regex_bytes(regex):
    """A regex over a byte stream: the expression's characters are matched as their UTF-8 bytes."""

    def __init__(self, name: Any = None, initial: Any = None, **kwds: Any) -> None:
        kwds.setdefault("regex_encoding", "utf-8")
        kwds.setdefault("regex_typecode", "B")
        super().__init__(name, initial, **kwds)
