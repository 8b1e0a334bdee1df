"""Record every tag read and write of the simulator to a history file.

    python -m cpppo.server.enip.historize FILE [server options] Tag_Name=DINT[1000]

Why: the original cpppo's example of intercepting Attribute I/O, and a
useful tool in itself: what a client read and wrote, and when, kept in
:mod:`cpppo.history`'s format, so :func:`cpppo.history.records` (or a
:class:`cpppo.history.reader` replaying in real time) reads it back::

    2014-07-15 22:03:44.186	["Tag_Name", [0, 3]]	{"write": [0, 1, 2, 3]}
    2014-07-15 22:03:45.002	["Tag_Name", [2, 2]]	{"read": 2}

The serial is the tag and its first and last element (inclusive, as the
original wrote it); the data is ``{"read": value}`` or ``{"write": value}``.
A failed access is a ``#`` comment line naming the tag, the elements and the
error.  Most bad requests (an unknown tag, elements beyond the tag) are
refused by the server before the Attribute sees them, so they are not
recorded; errors raised by the Attribute (or by a slower source beneath it)
are.

Unlike the original, importing this module has no effect: the file name is
taken from the command line by :func:`main`, which builds the Attribute
class for that file (:func:`attribute_historize`) and hands it to the
simulator's ``main(argv, attribute_class=...)``.  Use it as a template for
your own Attribute: ``super().__getitem__`` / ``super().__setitem__`` hold
the value; map tags to your application's data there instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from cpppo import history
from cpppo.enip.simulator.controller.device import Attribute
from cpppo.enip.simulator.run import main as enip_main

__all__ = ["attribute_historize", "main"]

USAGE = "usage: python -m cpppo.server.enip.historize FILE [server options] NAME=TYPE[LENGTH] ..."


def _elements(attribute: Attribute, key: int | slice) -> tuple[Any, Any]:
    """The first and last (inclusive) element *key* names, as the original recorded them."""
    if isinstance(key, slice):
        start, stop, _ = key.indices(len(attribute))
        return start, stop - 1
    return key, key


def attribute_historize(path: str | os.PathLike[str], base: type[Attribute] = Attribute) -> type[Attribute]:
    """An Attribute class (derived from *base*) whose every read and write is recorded to *path*.

    All tags made from the class share one :class:`cpppo.history.logger`
    (``Attribute_historize.history_logger``), which appends and flushes each event
    whole, so the file is complete whenever the simulator stops.  Everything
    runs on the reactor thread: no lock is needed.
    """
    recorder = history.logger(path)

    class Attribute_historize(base):  # type: ignore[valid-type,misc]
        """A tag that records its reads and writes (and their errors) to a history file."""

        history_logger = recorder

        def __init__(self, *args: Any, **kwds: Any) -> None:
            super().__init__(*args, **kwds)
            self.history_logger.comment(f"{history.timestamp()}: Started recording Tag: {self.name}")

        def _record(self, kind: str, key: int | slice, value: Any) -> Any:
            self.history_logger.write({kind: value}, serial=(self.name, _elements(self, key)))
            return value

        def _failed(self, kind: str, key: int | slice, error: Any) -> None:
            first, last = _elements(self, key) if isinstance(key, (int, slice)) else (key, key)
            self.history_logger.comment(f"{history.timestamp()}: PLC I/O {kind:<5} Tag {self.name:>20}"
                                 f"[{first!s:>5}-{last!s:<5}] Exception: {error}")

        def __getitem__(self, key: int | slice) -> Any:
            try:
                value = super().__getitem__(key)
            except Exception as error:
                self._failed("Read", key, error)
                raise
            if isinstance(value, defer.Deferred):  # a slow source beneath: record when it answers
                def failed(failure: Any) -> Any:
                    self._failed("Read", key, failure.value)
                    return failure
                return value.addCallbacks(lambda v: self._record("read", key, v), failed)
            return self._record("read", key, value)

        def __setitem__(self, key: int | slice, value: Any) -> Any:
            try:
                done = super().__setitem__(key, value)
            except Exception as error:
                self._failed("Write", key, error)
                raise
            values = list(value) if isinstance(key, slice) else value
            if isinstance(done, defer.Deferred):
                def failed(failure: Any) -> Any:
                    self._failed("Write", key, failure.value)
                    return failure
                def recorded(result: Any) -> Any:
                    self._record("write", key, values)
                    return result
                return done.addCallbacks(recorded, failed)
            self._record("write", key, values)
            return done

    return Attribute_historize


def main(argv: Sequence[str] | None = None) -> int:
    """``historize FILE [server options] TAG...``: serve the tags, recording their I/O to FILE."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    path, rest = args[0], args[1:]
    attribute_class = attribute_historize(path)
    try:
        return enip_main(rest, attribute_class=attribute_class, prog="python -m cpppo.server.enip.historize")
    finally:
        attribute_class.history_logger.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
