"""twistd plugins' ``Options`` and ``makeService``: one module per service (``cpppo.tap.modbus``).

Why: the ServiceMakers in ``twisted/plugins/`` name these modules as strings
so that ``twistd --help`` imports nothing heavy.  Option parsing sets up
logging (``-v``, ``-l``) and then loads what the options name (tag files), so
that what a loader skips is logged; everything that opens a port happens in
``makeService``'s service when it starts, under :class:`.guard.ExitOnFailure`
(a port that cannot be bound is one line and exit status 1).
"""
