"""cpppo.history: record time series to files and play them back.

Why: industrial control development needs to capture what a device saw and did, and replay it
later, faster or slower, against a simulator or client.  The names, signatures and file format are
the original cpppo's (``cpppo.history.times`` and ``cpppo.history.files``), so its users' scripts
and recorded files keep working; playback on the Twisted reactor is new
(:mod:`cpppo.history.playback`).
"""

from .files import *  # noqa: F403 -- re-exports files.__all__, the original's module
from .files import __all__ as _files_all
from .times import *  # noqa: F403 -- re-exports times.__all__, the original's module
from .times import __all__ as _times_all

__all__ = list(_times_all) + list(_files_all)
