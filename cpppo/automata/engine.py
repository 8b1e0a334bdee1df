"""The engine that runs states and machines, one transition per step.

Every way of running a machine goes through :class:`Engine`: the original's
generator protocol (``state.run`` yields what :meth:`Engine.step` returns) and
the sans-IO :class:`~cpppo.automata.feeder.Feeder` (which calls ``step`` until
the machine completes a sentence or waits for input).  One implementation of
the semantics, no generator per state.

Strategy: an explicit stack of :class:`Frame` records, one per machine being
run; a frame holds the machine, its current sub-state, what it must do next
with it (``CONSUME`` its input, ``CHOOSE`` its transition, or ``FINISH`` the
sub-machine), its repeat cycle, whether a finished sub-machine ended terminal,
and the progress marks that detect a machine going round without consuming or
receiving anything.  Entering a nested ``dfa`` pushes a frame; finishing its
sub-machine (in a terminal state, or :class:`NonTerminal` is raised) pops it
and lets the enclosing machine choose its own transition.

The Engine owns all run state: it keeps it in its frames and reads only the
graph's structure, so one machine graph serves any number of interleaved runs
(one per connection).  For inspection alone, entering a machine points its
``last_run`` at the frame (the original's ``.current``, ``.cycle`` and
``.terminal`` report the latest run through it); no run ever reads it.

The engine knows states only by what it calls on them (``consume``,
``choose``, ``initial``, ...), never by their classes, so the states can
import it (for :meth:`~cpppo.automata.nodes.state.run`) without a cycle.

What ``step`` returns, like the original's generators yield it:
``(machine, state)`` a transition into *state* by *machine*;
``(machine, None)`` no transition possible with the input at hand (more input
may help, or the sub-machine is done); :data:`END` the run is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .markers import DONE, END, MISSING, PAUSE, NonTerminal

__all__ = ["Engine", "END", "Frame", "linear_chain"]

CONSUME, CHOOSE, FINISH = 0, 1, 2
_ROOT_STATE, _ROOT_MACHINE = 1, 2  # a root frame runs a state on its own, or a machine's sub-machine


def linear_chain(top: Any) -> tuple[Any, ...] | None:
    """The states *top*'s sub-machine runs through, if it can only ever run them in order.

    That is the shape of a fixed record layout (a header, then a
    length-prefixed body, ...): every state a leaf with no limit, greedy, and
    either a single no-input transition to a state not yet in the chain or, for
    the last, no transition and terminal; *top* itself a greedy machine with
    nothing to do but run that sub-machine once.  Running such a chain needs no
    choosing, no progress marks and no frames: a :class:`~cpppo.automata.feeder.Feeder`
    calls each state's ``consume`` in turn and keeps only the index to resume at,
    with exactly the results the :class:`Engine` gives (tests compare both).
    Returns None for any other machine.
    """
    if (top.simple or not top._empty or not top._null or top.alphabet is not None or top.limit is not None
            or top.repeat is not None or not top.greedy):
        return None
    chain: list[Any] = []
    current = top.initial
    while True:
        if not current.simple or current.limit is not None or not current.greedy or current in chain:
            return None
        chain.append(current)
        if current._empty:
            return tuple(chain) if current._terminal else None
        following = current._epsilon  # MISSING, None (a transition to nowhere) or a state
        if following is MISSING or following is None:
            return None
        current = following


@dataclass(slots=True, eq=False)
class Frame:
    """One machine's place in one run: the run state the :class:`Engine` keeps instead of the graph.

    ``machine`` runs its sub-machine, now at ``current`` (for a root frame
    running a lone state, ``machine`` is only the caller's label).  ``path``
    is where the sub-machine's states keep their results; ``ending`` the
    symbol count the machine may not read past, ``state_ending`` the same
    tightened by the current state's own ``limit``.  ``terminal`` is set when
    ``current`` is a nested machine that has finished: whether it ended
    terminal (so the graph's ``.terminal``, which reports only the latest
    run, is never asked).  ``cycle`` counts the sub-machine's runs out of
    ``final`` (its ``repeat``).  ``seen`` holds what the frame reached since
    its progress mark (``mark_sent``, ``mark_chains``): a single state (or
    None, for a wait) while there is one, a set once there are more.
    """

    machine: Any
    current: Any
    path: str | None
    ending: int | None
    greedy: bool
    mark_sent: int
    mark_chains: int
    seen: Any
    final: int = 1
    cycle: int = 1
    root: int = 0
    phase: int = CONSUME
    state_ending: int | None = None
    terminal: bool | None = None

    @classmethod
    def enter(cls, machine: Any, current: Any, path: str | None, ending: int | None, greedy: bool,
              source: Any, final: int = 1, root: int = 0) -> Frame:
        """A frame starting at *current*, its progress marked at *source*'s present position."""
        return cls(machine, current, path, ending, greedy, source.sent, source.chains, current,
                   final=final, root=root)


class Engine:
    """Runs *top* (a state or a machine) over *source*, one transition per :meth:`step`.

    ``Engine(..., batch=True)`` returns from :meth:`step` only to wait for input
    or at the end, not at every transition: the :class:`Feeder`'s fast path.
    """

    __slots__ = ("source", "data", "stack", "batch", "_top", "_machine", "_path", "_ending", "_greedy",
                 "_direct")

    def __init__(self, top: Any, source: Any, machine: Any = None, path: str | None = None,
                 data: Any = None, ending: int | None = None, greedy: bool = True,
                 batch: bool = False) -> None:
        self.source = source
        self.batch = batch
        self._top, self._machine, self._path, self._ending, self._greedy = top, machine, path, ending, greedy
        self.stack: list[Frame] = []
        # Nothing about the top machine itself needs a step: a batch run starts in its sub-machine.
        self._direct = bool(batch and not top.simple and top._empty and top._null and top.alphabet is None
                            and top.limit is None and top.repeat is None)
        self.restart(data)

    def restart(self, data: Any) -> None:
        """Begin a new run of the same machine over the same source, into *data*."""
        self.data = data
        top = self._top
        if self._direct:
            initial = top.initial
            stack = self.stack
            if len(stack) == 1 and stack[0].root == _ROOT_MACHINE:  # reuse the last run's frame
                frame = stack[0]
                frame.current = frame.seen = initial
                frame.phase = CONSUME
                frame.terminal = None
                source = self.source
                frame.mark_sent, frame.mark_chains = source._sent, source.chains
            else:
                frame = Frame.enter(top, initial, top.where(self._path), self._ending, top.greedy, self.source,
                                    root=_ROOT_MACHINE)
                self.stack = [frame]
            top.last_run = frame  # for inspection only (see the module's docstring)
            return
        self.stack = [Frame.enter(self._machine, top, self._path, self._ending, self._greedy,
                                  self.source, root=_ROOT_STATE)]

    def _stuck(self, frame: Frame, key: Any) -> bool:
        """Record reaching *key* (a state, or None for a wait); True if already reached with no progress."""
        source = self.source
        if source.sent != frame.mark_sent or source.chains != frame.mark_chains:
            frame.mark_sent, frame.mark_chains, frame.seen = source.sent, source.chains, key
            return False
        seen = frame.seen
        if type(seen) is not set:
            if seen is key:
                return True
            frame.seen = {seen, key}
            return False
        if key in seen:
            return True
        seen.add(key)
        return False

    def step(self) -> Any:
        """Run to the next transition (or wait); returns it, or :data:`END`."""
        source, data, stack, batch = self.source, self.data, self.stack, self.batch
        while True:
            frame = stack[-1]
            current = frame.current
            phase = frame.phase
            if phase == CONSUME:
                if not current.consume(source, frame.machine, frame.path, data):
                    if not self._stuck(frame, None):
                        return frame.machine, None
                    if frame.root == _ROOT_STATE:
                        frame.phase = FINISH
                        continue
                    # Entered, but its input never came (or is not in its alphabet): a failed parse.
                    raise NonTerminal(f"{frame.machine._name} stopped in {current} before it could consume "
                                      f"its input, after {source.sent} symbols (next: {source.peek()!r})")
                ending = frame.ending
                if ending is not None and source.sent > ending:
                    raise NonTerminal(f"{current} read {source.sent - ending} symbols past its limit")
                if current.limit is not None:
                    ending = frame.state_ending = current.ending(source, frame.path, data, ending)
                else:
                    frame.state_ending = ending
                if current.simple:
                    if current._empty:  # a state with no transitions can only finish: skip choosing
                        frame.phase = FINISH
                        if frame.root and current._terminal and frame.cycle >= frame.final:
                            return END  # ... and a terminal one, the run's last, ends the run
                    else:
                        frame.phase = CHOOSE
                    continue
                frame.phase = CHOOSE
                # A nested machine: run its sub-machine in a frame of its own, then choose.
                final = 1 if current.repeat is None else current._cycles(frame.path, data)
                initial = current.initial
                child = Frame.enter(current, initial, current.where(frame.path), ending, current.greedy,
                                    source, final)
                current.last_run = child  # for inspection only (see the module's docstring)
                if final < 1:  # repeated no times: done at once, terminal if made terminal
                    child.cycle = 0
                    frame.terminal = current._terminal
                    continue
                stack.append(child)
                if batch:
                    continue
                return current, initial
            if phase == CHOOSE:
                if current._empty:  # nowhere to go from here, whatever comes next
                    frame.phase = FINISH
                    continue
                terminal = frame.terminal  # set for a nested machine once it has finished
                if terminal is None:
                    terminal = current._terminal
                greedy = frame.greedy and current.greedy
                target = current.choose(source, frame.machine, frame.path, data, frame.state_ending,
                                        terminal, greedy)
                if target is PAUSE:
                    if not self._stuck(frame, None):
                        return frame.machine, None
                    # Waited, and no input came: the end of input; only [None] transitions remain.
                    target = current.choose(source, frame.machine, frame.path, data, frame.state_ending,
                                            terminal, greedy, eof=True)
                if target is DONE:
                    frame.phase = FINISH
                    continue
                if target is None:
                    frame.phase = FINISH
                    return frame.machine, None
                if self._stuck(frame, target):
                    frame.phase = FINISH
                    continue
                if frame.root == _ROOT_STATE:
                    frame.phase = FINISH  # a state run on its own stops after its transition
                    return frame.machine, target
                frame.current = target
                frame.terminal = None
                frame.phase = CONSUME
                if batch:
                    continue
                return frame.machine, target
            # FINISH: this frame's machine has stopped at `current`.
            if frame.root == _ROOT_STATE:
                return END
            machine = frame.machine
            terminal = frame.terminal
            if terminal is None:
                terminal = current._terminal
            if not terminal:
                raise NonTerminal(f"{machine._name} sub-machine stopped in non-terminal state {current} "
                                  f"after {source.sent} symbols (next: {source.peek()!r})")
            if frame.cycle < frame.final:
                frame.cycle += 1
                initial = frame.current = machine.initial
                frame.phase = CONSUME
                frame.terminal = None
                frame.mark_sent, frame.mark_chains, frame.seen = source.sent, source.chains, initial
                if batch:
                    continue
                return machine, initial
            if frame.root:
                return END
            stack.pop()
            stack[-1].terminal = machine._terminal and terminal
