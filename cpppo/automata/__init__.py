"""cpppo's deterministic finite automata.

``state``, ``state_input``, ``state_drop``, ``state_struct`` and ``decide``
build machines; ``dfa`` runs them (and nests them); ``regex`` builds one from a
regular expression; the bulk ``state_fields`` and ``state_bytes`` read whole
binary fields in one step; ``peekable``/``chainable`` sources feed them, and
``Feeder`` runs a machine over input arriving in chunks.
"""

from .sources import chainable, chaining, peekable, peeking, rememberable, remembering
from .states import (DONE, PAUSE, NonTerminal, decide, path_ext_input, state, state_bytes, state_drop,
                     state_fields, state_input, state_struct)
from .machines import dfa, dfa_base, regex, regex_bytes
from .feeder import NEED_DATA, Feeder, parse

__all__ = [
    "peekable", "peeking", "chainable", "chaining", "rememberable", "remembering",
    "NonTerminal", "decide", "state", "state_input", "state_drop", "state_struct", "state_fields",
    "state_bytes", "path_ext_input", "PAUSE", "DONE",
    "dfa_base", "dfa", "regex", "regex_bytes",
    "Feeder", "NEED_DATA", "parse",
]
