"""The original's module of states: every state class, wherever it now lives.

cpppo's states are split by job: the base :class:`~cpppo.automata.nodes.state`
and :class:`~cpppo.automata.nodes.decide` (transitions and choosing) in
:mod:`~cpppo.automata.nodes`, the one-symbol states in
:mod:`~cpppo.automata.inputs`, the binary-field states in
:mod:`~cpppo.automata.binary`, and the sentinels in
:mod:`~cpppo.automata.markers`.  This module gathers them again so that
``cpppo.automata.states.X`` keeps working for every name it offered.
"""

from __future__ import annotations

from .binary import state_bytes, state_fields, state_struct
from .inputs import state_drop, state_input
from .markers import DONE, MISSING, PAUSE, NonTerminal, path_ext_input  # noqa: F401 (MISSING: as before)
from .nodes import Transition, decide, state  # noqa: F401 (Transition: as before)
from .sources import peekable, peeking  # noqa: F401 (importable from here before the split)

__all__ = [
    "NonTerminal", "decide", "state", "state_input", "state_drop", "state_struct",
    "state_fields", "state_bytes", "PAUSE", "DONE", "path_ext_input",
]
