"""cpppo: Communication Protocol Python Parser and Originator, on Twisted.

The flat public namespace the original offered: the DFA framework
(``cpppo.dfa``, ``cpppo.state``, ``cpppo.regex``, ...), ``cpppo.dotdict`` and ``cpppo.apidict``,
and the helpers of :mod:`cpppo.misc` (``timer``, ``log_cfg``, ``scale``, ``natural``,
``parse_ip_port``, ``hexdump``, ...), as 5.2.5 gathered them here.
"""

# Re-exported: the redundant aliases say so (PEP 484's explicit re-export); the star imports bring
# in what automata and misc list in their __all__, the original's flat namespace.
from . import automata as automata
from .automata import *  # noqa: F403 -- re-exports automata.__all__, by design
from .dotdict import *  # noqa: F403 -- re-exports dotdict.__all__ (dotdict, apidict, ...), by design
from .misc import *  # noqa: F403 -- re-exports misc.__all__, by design
from .misc_values import *  # noqa: F403 -- part of misc.__all__, named again for the type checker
from .version import __version__ as __version__
from .version import __version_info__ as __version_info__
