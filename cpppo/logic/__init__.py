"""The controller runs its program: the ladder logic (RLL) of an L5X export, scanned as a Logix scans it.

Layers, each its own module: :mod:`.program` reads tasks, programs, routines and
rungs from the trees the L5X loader parsed; :mod:`.neutral` and
:mod:`.expression` parse a rung's text into a tree; :mod:`.access` binds
operands to the controller's tag storage; :mod:`.instructions` holds one
builder per instruction, by family; :mod:`.compiler` turns rungs into
callables once; :mod:`.scan` runs them on the reactor (modes, tasks, prescan,
first scan, faults).  Nothing here touches a socket.
"""

from __future__ import annotations

from cpppo.logic.scan import DEFAULT_PERIOD, Logic, Mode, attach

__all__ = ["Logic", "Mode", "attach", "DEFAULT_PERIOD"]
