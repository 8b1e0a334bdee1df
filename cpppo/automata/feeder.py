"""Feeder: run a machine over input that arrives in pieces, sans-IO.

A protocol receives bytes in whatever pieces the network delivers.  A
:class:`Feeder` owns a :class:`~cpppo.automata.sources.chaining` source and
the run in progress: ``receive_data`` chains a piece, ``next_event`` steps the
machine's :class:`~cpppo.automata.engine.Engine` until it completes a sentence
(returning its data artifact), runs out of input (returning
:data:`NEED_DATA`, with the Engine's frames kept, to go on from exactly
there), or finds input outside its grammar (raising
:class:`~cpppo.automata.markers.NonTerminal`).  ``receive_data(b"")`` means
end of input: the machine is then run to its end with what it has.  ``feed``
does both at once and returns every sentence a piece completes.

Feeding a sentence in any number of pieces gives the same result as feeding it
whole, because the machine pauses only when the source is starved, and resumes
from the run state the Engine kept.  No sockets, no reactor, no clock.  The
run state is the Feeder's (its Engine's), never the machine's, so any number
of Feeders may run one machine graph at once.

A machine whose states can only run in order (:func:`~cpppo.automata.engine.linear_chain`:
a header, then a length-prefixed body, ...) is run without the engine: each
state's precomputed ``consumer`` in turn, resuming at the state that starved,
its place kept in a :class:`~cpppo.automata.engine.Frame` of the Feeder's own.
The results are the engine's (``Feeder(machine, linear=False)`` forces the
engine; the tests compare both); the cost per sentence is a fraction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..dotdict import dotdict
from .engine import Engine, Frame, linear_chain
from .markers import END, NEED_DATA, NonTerminal
from .sources import chaining

__all__ = ["Feeder", "NEED_DATA", "parse"]


class Feeder:
    """Drives *machine* over chunked input, producing one data artifact per sentence."""

    def __init__(self, machine: Any, path: str = "", data_factory: Callable[[], Any] = dotdict,
                 linear: bool = True) -> None:
        self.machine = machine
        self.path = path
        self.source = chaining()
        self._factory = data_factory
        self._engine: Engine | None = None  # reused from sentence to sentence
        self._run: Callable[[], Any] | None = None  # the running Engine's step
        self._data: Any = None
        self._start = 0
        self.ended = False
        self.sentences = 0
        self._error: NonTerminal | None = None  # raised by the next feed(), after the sentences before it
        # A machine that can only run its states in order is run without the Engine: each state's
        # consume in turn, resuming at _index (-1 between sentences).  linear=False forces the Engine.
        self._chain = linear_chain(machine) if linear else None
        inner = machine.where(path) if self._chain is not None else path  # the sub-machine's path, as the Engine's
        self._consumes = tuple(each.consumer(self.source, machine, inner) for each in self._chain or ())
        self._index = -1
        # The linear run's place for inspection (machine.current): the Feeder's, pointed to by the machine.
        self._frame = Frame.enter(machine, self._chain[0], inner, None, True, self.source) if self._chain else None
        self._waited = -1  # source.chains when the engine last waited for input
        if self._chain is not None and self._frame is not None:  # both or neither: a chain is never empty
            # chosen once here rather than tested on every call:
            self.next_event = functools.partial(  # type: ignore[method-assign]  # this Feeder's own next_event
                self._linear, self._chain, self._frame, None)

    def receive_data(self, chunk: bytes | str | Any) -> None:
        """Add a piece of input; an empty ``bytes``/``str`` marks the end of input."""
        if not chunk and (chunk is None or isinstance(chunk, (bytes, str))):
            self.ended = True
            return
        self.source.chain(chunk)

    @property
    def buffered(self) -> int:
        """Symbols received and not yet consumed by a completed or running sentence."""
        return self.source.available()

    def next_event(self) -> Any:
        """The next complete sentence's data, :data:`NEED_DATA`, or None once input has ended.

        Raises NonTerminal if the input is not a sentence of the machine's grammar
        (or ends in the middle of one); the feeder is then unusable.
        """
        source = self.source
        step = self._run
        if step is not None and source.chains == self._waited and not self.ended:
            return NEED_DATA  # asked again with nothing new: still waiting (not the end of input)
        if step is None:
            if source.exhausted():  # nothing buffered (so peek() would give None): wait, or the end
                return None if self.ended else NEED_DATA
            self._data = data = dict.__new__(dotdict) if self._factory is dotdict else self._factory()
            self._start = source._sent  # our own chaining source: its count, without the property
            engine = self._engine
            if engine is None:
                engine = self._engine = Engine(self.machine, source, None, self.path, data, batch=True)
            else:
                engine.restart(data)
            step = self._run = engine.step
        try:
            while True:
                transition = step()
                if transition is END:
                    break
                if transition[1] is None and source.starved and not self.ended:
                    self._waited = source.chains
                    return NEED_DATA
        except BaseException:
            self._run = None
            raise
        self._run = None
        self._accepted(self._start)
        self.sentences += 1
        data, self._data = self._data, None
        return data

    def _accepted(self, start: int) -> None:
        """A sentence has ended: it must have consumed something, or the machine would never advance."""
        source = self.source
        if source._sent == start:
            raise NonTerminal(f"{self.machine.name} accepts nothing at symbol {source.sent} "
                              f"(next: {source.peek()!r})")

    def _linear(self, chain: tuple[Any, ...], frame: Frame, out: list[Any] | None) -> Any:
        """Run sentences of a linear machine (see :func:`linear_chain`): the first is returned (this
        is :meth:`next_event` for such a machine), or with *out*, each appended.  *chain* and *frame*
        are the Feeder's ``_chain`` and ``_frame``, passed in (both are set for a linear machine).

        Returns :data:`NEED_DATA` or None (input ended) when it stops for want of input.
        """
        source, machine, consumes = self.source, self.machine, self._consumes
        index, data, start = self._index, self._data, self._start
        paused = False
        try:
            while True:
                if index < 0:
                    if source.exhausted():
                        return None if self.ended else NEED_DATA
                    data = dict.__new__(dotdict) if self._factory is dotdict else self._factory()
                    start = source._sent
                    index = 0
                for consume in consumes[index:] if index else consumes:
                    if not consume(data):
                        stopped = frame.current = chain[index]
                        machine.last_run = frame
                        if source.starved and not self.ended:
                            self._index, self._data, self._start = index, data, start
                            paused = True
                            return NEED_DATA
                        raise NonTerminal(f"{machine._name} stopped in {stopped} before it could consume "
                                          f"its input, after {source.sent} symbols (next: {source.peek()!r})")
                    index += 1
                frame.current = chain[-1]
                machine.last_run = frame
                if source._sent == start:
                    self._accepted(start)  # (raises: the sentence consumed nothing)
                self.sentences += 1
                index = -1
                if out is None:
                    return data
                out.append(data)
        finally:
            if not paused:  # between sentences (or failed): the next call starts a new one
                self._index, self._data = -1, None

    def feed(self, chunk: Any) -> list[Any]:
        """Receive *chunk* and return every sentence it completes.

        If the input goes wrong after some sentences completed, those are returned
        and the error is raised by the next call, so nothing parsed is lost.
        """
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if chunk:
            self.source.chain(chunk)
        else:
            self.receive_data(chunk)
        out: list[Any] = []
        try:
            if self._chain is not None and self._frame is not None:
                self._linear(self._chain, self._frame, out)
            else:
                self._by_engine(out)
        except NonTerminal as error:
            if not out:
                raise
            self._error = error
        return out

    def _by_engine(self, out: list[Any]) -> None:
        """Append every sentence the input at hand completes, running the engine."""
        while True:
            event = self.next_event()
            if event is NEED_DATA or event is None:
                return
            out.append(event)
            if self.source.exhausted() and not self.ended:  # (cheaper than asking next_event)
                return

    def close(self) -> list[Any]:
        """End of input: finish the sentence in progress (or raise NonTerminal if it cannot)."""
        return self.feed(b"")


def parse(machine: Any, sentence: Any, path: str = "", data: Any = None) -> tuple[Any, Any]:
    """Run *machine* once over a whole *sentence*; returns (data, source) for inspection."""
    source = chaining(sentence)
    data = dotdict() if data is None else data
    for _ in machine.run(source=source, path=path, data=data):
        pass
    return data, source
