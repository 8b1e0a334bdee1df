"""cpppo's deterministic finite automata.

``state``, ``state_input``, ``state_drop``, ``state_struct`` and ``decide``
build machines; ``dfa`` runs them (and nests them); ``regex`` builds one from a
regular expression; the bulk ``state_fields`` and ``state_bytes`` read whole
binary fields in one step; ``peekable``/``chainable`` sources feed them, and
``Feeder`` runs a machine over input arriving in chunks.

One module per job, each importing only those before it: ``markers`` (the
sentinels and ``NonTerminal``), ``sources``, ``engine`` (runs a graph; owns
all run state), ``nodes`` (the base ``state`` and ``decide``), ``inputs`` and
``binary`` (the consuming states), ``regexes`` (a regular expression's
states), ``machines`` (``dfa``, ``regex``), ``feeder``, ``scalars`` (the
original's ``string`` and ``integer`` machines, ``dfa_post``); ``states`` gathers
the state classes at the original's module path.
"""

from .binary import state_bytes, state_fields, state_struct
from .feeder import NEED_DATA, Feeder, parse
from .inputs import state_drop, state_input
from .machines import dfa, dfa_base, dfa_drop, dfa_input, regex, regex_bytes
from .markers import DONE, PAUSE, NonTerminal, path_ext_input
from .nodes import decide, state
from .scalars import dfa_post, integer, integer_base, integer_bytes, string, string_base, string_bytes
from .sources import chainable, chaining, is_iterator, is_listlike, peekable, peeking, rememberable, remembering

__all__ = [
    "peekable", "peeking", "chainable", "chaining", "rememberable", "remembering",
    "NonTerminal", "decide", "state", "state_input", "state_drop", "state_struct", "state_fields",
    "state_bytes", "path_ext_input", "PAUSE", "DONE",
    "dfa_base", "dfa", "dfa_input", "dfa_drop", "regex", "regex_bytes", "is_iterator", "is_listlike",
    "Feeder", "NEED_DATA", "parse",
    "string_base", "string", "string_bytes", "integer_base", "integer", "integer_bytes", "dfa_post",
]
