"""The base state and its transitions: the nodes of cpppo's deterministic finite automata.

A state is a dict of outgoing transitions (``s['a'] = t``; ``s[True] = t`` on
any symbol; ``s[None] = t`` with no input; ``s[predicate] = t`` on symbols the
predicate accepts; a :class:`decide` chooses on the data gathered so far).
Entering a state, a machine first lets it *process* input (a plain ``state``
consumes nothing; the consuming states of :mod:`~cpppo.automata.inputs` and
:mod:`~cpppo.automata.binary` override ``process``/``consume``), then picks the
transition for the next symbol.

Strategy: the decision is a plain method (:meth:`state.choose`) returning the
next state, ``None`` (an explicit transition to nowhere), ``PAUSE`` (no input
yet, but some might make a transition) or ``DONE`` (nothing more to do here).
The :class:`~cpppo.automata.engine.Engine` calls it directly, so a protocol
parser pays a few method calls per field rather than a generator per state;
:meth:`state.run` wraps the engine in the original's generator protocol.
A state is written only while the graph is built (``s[inp] = t``); running it
reads it and writes only the data and the source (and, for inspection alone, a
machine's ``last_run``: see :mod:`~cpppo.automata.machines`), so one graph
serves any number of interleaved parses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator
from typing import Any

from .engine import Engine
from .markers import ANY, DONE, END, MISSING, NON, PAUSE
from .sources import peekable, peeking

__all__ = ["decide", "state", "Transition"]

#: What :meth:`state.run` yields: ``(machine, state)`` transitions and ``(machine, None)`` waits.
Transition = Generator[tuple[Any, Any], None, Any]


class decide:
    """A conditional transition: to *state* if ``predicate(machine=, source=, path=, data=)`` is true.

    Several decides may share one input (a list, tried in order); a plain state
    given last is the default.  A decide that is not taken yields no transition.
    """

    def __init__(self, name: str, state: state | None = None,
                 predicate: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.state = state
        self.predicate = predicate if predicate is not None else (lambda **kwds: True)

    def __str__(self) -> str:
        return f"{self.name}?{self.state}"

    def __repr__(self) -> str:
        return f"<{self}>"

    def __call__(self, machine: Any = None, source: Any = None, path: str | None = None,
                 data: Any = None) -> state | None:
        truth = self.predicate(machine=machine, source=source, path=path, data=data)
        return self.execute(truth, machine=machine, source=source, path=path, data=data)

    def execute(self, truth: Any, machine: Any = None, source: Any = None, path: str | None = None,
                data: Any = None) -> state | None:
        return self.state if truth else None


class state(dict[Any, Any]):
    """A null (no-input) state; the base of every state and machine.

    ``terminal``: the machine may stop here.  ``greedy`` (default): keep
    transitioning while a transition exists, rather than stopping at the first
    terminal state.  ``context`` and ``extension`` name where the state keeps
    its results: ``<path>.<context><extension>``.  ``alphabet`` (a type, a
    container or a predicate) limits the symbols a consuming state accepts;
    ``encoder`` maps each symbol before transitions are looked up; ``limit``
    (an int, a data path relative to this state's context, or a callable)
    bounds the symbols the machine may consume from here on.
    """

    #: True for states that run no sub-machine (a machine pushes a frame for the others).
    simple = True
    #: True for classes that neither validate nor process input (set per class below).
    _null = True

    recognizers: list[tuple[Callable[[Any], Any], Any]]
    _name: Any
    _terminal: bool
    alphabet: Any
    _context: str | None
    _extension: str | None
    encoder: Callable[[Any], Any] | None
    typecode: str | None
    greedy: bool
    limit: Any

    def __init_subclass__(cls, **kwds: Any) -> None:
        super().__init_subclass__(**kwds)
        cls._null = cls.accepts is state.accepts and cls.process is state.process \
            and cls.consume is state.consume

    def __init__(self, name: Any, terminal: bool | None = None, alphabet: Any = None, context: str | None = None,
                 extension: str | None = None, encoder: Callable[[Any], Any] | None = None,
                 typecode: str | None = None, greedy: bool | None = None, limit: Any = None) -> None:
        super().__init__()
        if isinstance(name, state):  # a copy, as the original's state(other) makes one
            other = name
            dict.update(self, other)
            self.recognizers = list(other.recognizers)
            self._name = other.name + "'"
            self._terminal = other._terminal if terminal is None else terminal
            self.alphabet = other.alphabet if alphabet is None else alphabet
            self._context = other._context if context is None else context
            self._extension = other._extension if extension is None else extension
            self.encoder = other.encoder if encoder is None else encoder
            self.typecode = other.typecode if typecode is None else typecode
            self.greedy = other.greedy if greedy is None else greedy
            self.limit = other.limit if limit is None else limit
            self._retable()
            return
        self.recognizers = []
        self._name = name
        self._terminal = bool(terminal)
        self.alphabet = alphabet
        self._context = context
        self._extension = extension
        self.encoder = encoder
        self.typecode = typecode
        self.greedy = True if greedy is None else greedy
        self.limit = limit
        self._retable()

    # States are identities, not values: two empty states are not equal.
    def __bool__(self) -> bool:
        return True

    def __hash__(self) -> int:  # type: ignore[override]  # dict says unhashable (None); a state hashes by identity
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __enter__(self) -> state:
        """Kept for the original's ``with machine:`` idiom; runs keep their state apart, so there is no lock."""
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    @property
    def name(self) -> str:
        return str(self._name)

    def __str__(self) -> str:
        term = self.terminal
        return "(" + ("(" if term else " ") + self.name + (")" if term else " ") + ")"

    def __repr__(self) -> str:
        return f"<{self}>"

    def name_centered(self, width: int = 40) -> str:
        return str(self).center(width)[:width]

    @property
    def terminal(self) -> bool:
        return self._terminal

    @property
    def extension(self) -> str:
        return self._extension or ""

    def where(self, path: str | None) -> str:
        """:meth:`context` with the default extension: where this state keeps its results under *path*.

        Computed on every call rather than remembered on the state, so that
        running never writes the graph; the hot paths compute it once per run
        (:meth:`consumer`, the engine's frame for a machine).
        """
        return self.context(path)

    def _node(self, path: str | None, data: Any) -> Any:
        """The dict at this state's context under *path* in *data*, created (of data's type) if absent."""
        where = self.where(path)
        if not where:
            return data
        if "." not in where and "[" not in where:
            node = dict.get(data, where)
            if node is None:
                kind = type(data)
                node = dict.__new__(kind) if issubclass(kind, dict) else {}
                dict.__setitem__(data, where, node)
            return node
        node = data.get(where)
        if node is None:
            kind = type(data)
            node = data[where] = dict.__new__(kind) if issubclass(kind, dict) else {}
        return node

    def context(self, path: str | None = None, extension: str | None = None) -> str:
        """``<path>.<context><extension>``: where this state keeps its results under *path*."""
        pre = path or ""
        add = self._context or ""
        ext = extension if extension is not None else (self._extension or "")
        if pre and add:
            return pre + "." + add + ext
        return pre + add + ext

    # --- transitions ----------------------------------------------------------------
    def encode(self, inp: Any) -> Any:
        if inp is True:
            return ANY
        if inp is None:
            return NON
        if self.encoder is None:
            return inp
        enc = tuple(self.encoder(inp))
        return enc if len(enc) > 1 else enc[0]

    def __setitem__(self, inp: Any, target: Any) -> None:
        if target is not None and not isinstance(target, state) and not callable(target):
            raise KeyError("a transition target must be a state, a decide or None")
        if callable(inp) and not isinstance(inp, (str, bytes, int)):
            self.recognizers.append((inp, target))
        else:
            key = self.encode(inp)
            present = dict.get(self, key, MISSING)
            if present is MISSING:
                dict.__setitem__(self, key, target)
            else:
                choices = present if type(present) is list else [present]
                if choices and isinstance(choices[-1], state):
                    raise KeyError(f"{self}: a default transition on {inp!r} is already set; decides go first")
                dict.__setitem__(self, key, choices + [target])
        self._retable()

    def _retable(self) -> None:
        """Precompute the two commonest shapes: no transitions, or only a no-input one to a state."""
        keys = list(dict.keys(self))
        self._empty = not keys and not self.recognizers
        only = dict.get(self, NON, MISSING) if keys == [NON] and not self.recognizers else MISSING
        self._epsilon = only if (only is None or isinstance(only, state)) else MISSING
        self._waiting = bool(self.recognizers) or any(key is not NON for key in keys)

    def lookup(self, inp: Any) -> Any:
        """The target for *inp* (exact symbol, predicates, ``[True]``, ``[None]``), or ``MISSING``."""
        key = ANY if inp is True else NON if inp is None else inp if self.encoder is None else self.encode(inp)
        target = dict.get(self, key, MISSING)
        if target is not MISSING:
            return target
        if key is not NON:
            for pred, target in self.recognizers:
                if pred(key):
                    return target
            target = dict.get(self, ANY, MISSING)
            if target is not MISSING:
                return target
        return dict.get(self, NON, MISSING)

    def __getitem__(self, inp: Any) -> Any:
        """The target for *inp*: exact symbol, then predicates, then ``[True]``, then ``[None]``."""
        target = self.lookup(inp)
        if target is MISSING:
            raise KeyError(inp)
        return target

    def get(self, inp: Any, default: Any = None) -> Any:
        try:
            return self[inp]
        except KeyError:
            return default

    def choose(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None,
               ending: int | None = None, terminal: bool | None = None, greedy: bool = True,
               eof: bool = False) -> Any:
        """Decide the transition after processing: a state, None, :data:`PAUSE` or :data:`DONE`.

        With no input at hand, a state that some symbol could move on must wait
        (:data:`PAUSE`) rather than take its no-input ``[None]`` transition, or a
        sentence split across chunks would parse differently from a whole one;
        only at the end of input (*eof*: the caller offered none after a pause)
        is the ``[None]`` transition taken.
        """
        if terminal is None:
            terminal = self.terminal
        if terminal and not greedy:
            return DONE
        if self._epsilon is not MISSING:
            return self._epsilon
        if self._empty:
            return DONE
        limited = ending is not None and source.sent >= ending
        inp = None if limited else source.peek()
        if inp is None and not limited and not eof and self._waiting:
            return PAUSE
        choice = self.lookup(inp)
        if choice is MISSING:
            return DONE
        if type(choice) is not list:
            if choice is None or isinstance(choice, state):
                return choice
            choice = [choice]
        target = None
        for potential in choice:
            if potential is None or isinstance(potential, state):
                target = potential
                break
            target = potential(machine=machine, source=source, path=path, data=data)
            if target:
                break
        return target

    # --- consuming input ------------------------------------------------------------
    def validate(self, inp: Any) -> bool:
        """Whether *inp* belongs to this state's alphabet (None, no input, always does)."""
        alphabet = self.alphabet
        if inp is None or alphabet is None:
            return True
        if isinstance(alphabet, type):
            return isinstance(inp, alphabet)
        if hasattr(alphabet, "__contains__"):
            return inp in alphabet
        if callable(alphabet):
            return bool(alphabet(inp))
        raise TypeError(f"unknown alphabet: {alphabet!r}")

    def accepts(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        """True when the input this state needs is available and valid."""
        if self.alphabet is None:
            return True
        return self.validate(source.peek())

    def consume(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        """Accept and process in one step: False (nothing consumed) if the input is not there yet."""
        if self._null and self.alphabet is None:
            return True
        if not self.accepts(source, machine, path, data):
            return False
        self.process(source, machine, path, data)
        return True

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        """Consume (and keep) this state's input; a null state consumes nothing."""

    def consumer(self, source: Any, machine: Any = None, path: str | None = None) -> Callable[[Any], bool]:
        """``consume`` bound to one *source*, *machine* and *path*: a callable of the data alone.

        A :class:`~cpppo.automata.feeder.Feeder` running states in order calls
        this once and then the result per sentence; bulk states return a
        closure with their work precomputed.
        """
        return functools.partial(self.consume, source, machine, path)

    def ending(self, source: Any, path: str | None, data: Any, ending: int | None) -> int | None:
        """The symbol count at which input ends, tightened by this state's ``limit``."""
        limit = self.limit
        if limit is None:
            return ending
        if isinstance(limit, str):
            limit = data.get(self.context(path, limit), 0) if data is not None else 0
        elif callable(limit):
            limit = limit(source=source, machine=None, path=self.context(path), data=data)
        if not isinstance(limit, int):
            raise TypeError(f"{self}: limit {self.limit!r} must be (or name) an int, not {limit!r}")
        end = source.sent + limit
        return end if ending is None or end < ending else ending

    def run(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None,
            ending: int | None = None, greedy: bool = True) -> Transition:
        """Process input in this state (and any sub-machine), then yield the transition it takes.

        Yields ``(machine, state)`` for each transition, at every depth, and
        ``(machine, None)`` while it cannot go on with the input at hand (the
        caller chains more, or carries on to let it finish); stops once done.
        """
        if not isinstance(source, peeking):
            source = peekable(source)
        step = Engine(self, source, machine, path, data, ending, greedy).step
        while True:
            transition = step()
            if transition is END:
                return
            yield transition

    # --- graph traversal ------------------------------------------------------------
    def nodes(self, seen: set[int] | None = None) -> Iterator[state]:
        """Every state reachable from this one, each once."""
        if seen is None:
            seen = set()
        if id(self) in seen:
            return
        seen.add(id(self))
        yield self
        for _, target in self.edges():
            if target is not None and not isinstance(target, state):
                target = getattr(target, "state", None)
            if target is not None:
                yield from target.nodes(seen)

    def edges(self) -> Iterator[tuple[Any, Any]]:
        """``(input, target)`` for every outgoing transition (True: any symbol; None: no input)."""
        for pred, target in self.recognizers:
            yield pred, target
        for key, target in dict.items(self):
            inp = True if key is ANY else None if key is NON else key
            for one in (target if type(target) is list else [target]):
                yield inp, one
