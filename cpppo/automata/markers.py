"""The sentinels and the one exception that every part of a run shares.

They live apart from the states, the engine and the feeder so that each of
those can name them without importing another: the states decide (``PAUSE``,
``DONE``), the engine reports (``END``), the feeder waits (``NEED_DATA``), and
any of them may find input outside the grammar (:class:`NonTerminal`).
"""

from __future__ import annotations

__all__ = ["NonTerminal", "Marker", "PAUSE", "DONE", "END", "NEED_DATA", "ANY", "NON", "MISSING",
           "path_ext_input"]


class NonTerminal(Exception):
    """A machine stopped in a non-terminal state: its input is not a sentence of its grammar."""


class Marker:
    """A named sentinel, compared by identity (``result is PAUSE``) and shown by its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: :meth:`~cpppo.automata.nodes.state.choose` results: wait for input (then ask again), or
#: finish without a transition.
PAUSE = Marker("PAUSE")
DONE = Marker("DONE")
#: :meth:`~cpppo.automata.engine.Engine.step`'s result once the run is over.
END = Marker("END")
#: Returned by :meth:`~cpppo.automata.feeder.Feeder.next_event` when the machine waits for more input.
NEED_DATA = Marker("NEED_DATA")
#: The dict keys under which a state keeps its ``[True]`` (any symbol) and ``[None]`` (no input)
#: transitions, and what a lookup finds when there is no transition at all.
ANY = Marker("ANY")
NON = Marker("NON")
MISSING = Marker("MISSING")

#: The extension under which ``state_input`` collects symbols.
path_ext_input = ".input"
