"""States: the nodes of cpppo's deterministic finite automata.

A state is a dict of outgoing transitions (``s['a'] = t``; ``s[True] = t`` on
any symbol; ``s[None] = t`` with no input; ``s[predicate] = t`` on symbols the
predicate accepts; a :class:`decide` chooses on the data gathered so far).
Entering a state, a machine first lets it *process* input (a plain ``state``
consumes nothing, ``state_input`` consumes one symbol and keeps it,
``state_drop`` consumes one and discards it, the bulk ``state_fields`` and
``state_bytes`` consume a whole binary field), then picks the transition for
the next symbol.

Strategy: the decision is a plain method (:meth:`state.choose`) returning the
next state, ``None`` (an explicit transition to nowhere), ``PAUSE`` (no input
yet, but some might make a transition) or ``DONE`` (nothing more to do here).
:class:`~cpppo.automata.machines.dfa` calls it directly for simple states, so a
protocol parser pays a few method calls per field rather than a generator;
:meth:`state.run` wraps the same steps in the original's generator protocol,
yielding ``(machine, state)`` transitions and ``(machine, None)`` when it
cannot go on.  States hold no run-time state, so one graph serves any number of
interleaved parses.
"""

from __future__ import annotations

import array
import functools
import struct
from typing import Any, Callable, Generator, Iterator, Sequence

from .sources import peekable, peeking

__all__ = [
    "NonTerminal", "decide", "state", "state_input", "state_drop", "state_struct",
    "state_fields", "state_bytes", "PAUSE", "DONE", "path_ext_input",
]

#: The extension under which ``state_input`` collects symbols.
path_ext_input = ".input"

Transition = Generator[tuple[Any, Any], None, Any]


class NonTerminal(Exception):
    """A machine stopped in a non-terminal state: its input is not a sentence of its grammar."""


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: :meth:`state.choose` results: wait for input (then ask again), or finish without a transition.
PAUSE = _Marker("PAUSE")
DONE = _Marker("DONE")
_ANY = _Marker("ANY")  # the key of the [True] (any symbol) transition
_NON = _Marker("NON")  # the key of the [None] (no input) transition
_MISSING = MISSING = _Marker("MISSING")


class decide:
    """A conditional transition: to *state* if ``predicate(machine=, source=, path=, data=)`` is true.

    Several decides may share one input (a list, tried in order); a plain state
    given last is the default.  A decide that is not taken yields no transition.
    """

    def __init__(self, name: str, state: "state | None" = None,
                 predicate: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.state = state
        self.predicate = predicate if predicate is not None else (lambda **kwds: True)

    def __str__(self) -> str:
        return f"{self.name}?{self.state}"

    def __repr__(self) -> str:
        return f"<{self}>"

    def __call__(self, machine: Any = None, source: Any = None, path: str | None = None,
                 data: Any = None) -> "state | None":
        truth = self.predicate(machine=machine, source=source, path=path, data=data)
        return self.execute(truth, machine=machine, source=source, path=path, data=data)

    def execute(self, truth: Any, machine: Any = None, source: Any = None, path: str | None = None,
                data: Any = None) -> "state | None":
        return self.state if truth else None


class state(dict):
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
            self._where = ("", None)
            self._retable()
            return
        self.recognizers: list[tuple[Callable[[Any], Any], Any]] = []
        self._name = name
        self._terminal = bool(terminal)
        self.alphabet = alphabet
        self._context = context
        self._extension = extension
        self.encoder = encoder
        self.typecode = typecode
        self.greedy = True if greedy is None else greedy
        self.limit = limit
        self._where: tuple[str | None, str] = ("", None)  # type: ignore[assignment]
        self._retable()

    # States are identities, not values: two empty states are not equal.
    def __bool__(self) -> bool:
        return True

    def __hash__(self) -> int:  # type: ignore[override]
        return id(self)

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self is other

    def __ne__(self, other: object) -> bool:  # type: ignore[override]
        return self is not other

    def __enter__(self) -> "state":
        """Kept for the original's ``with machine:`` idiom; states hold no run-time state, so no lock."""
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

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
        """:meth:`context` for the default extension, remembered for the last *path* seen."""
        cached_path, cached = self._where
        if path == cached_path and cached is not None:
            return cached
        where = self.context(path)
        self._where = (path, where)
        return where

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
            return _ANY
        if inp is None:
            return _NON
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
            present = dict.get(self, key, _MISSING)
            if present is _MISSING:
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
        only = dict.get(self, _NON, _MISSING) if keys == [_NON] and not self.recognizers else _MISSING
        self._epsilon = only if (only is None or isinstance(only, state)) else _MISSING
        self._waiting = bool(self.recognizers) or any(key is not _NON for key in keys)

    def lookup(self, inp: Any) -> Any:
        """The target for *inp* (exact symbol, predicates, ``[True]``, ``[None]``), or ``MISSING``."""
        key = _ANY if inp is True else _NON if inp is None else inp if self.encoder is None else self.encode(inp)
        target = dict.get(self, key, _MISSING)
        if target is not _MISSING:
            return target
        if key is not _NON:
            for pred, target in self.recognizers:
                if pred(key):
                    return target
            target = dict.get(self, _ANY, _MISSING)
            if target is not _MISSING:
                return target
        return dict.get(self, _NON, _MISSING)

    def __getitem__(self, inp: Any) -> Any:
        """The target for *inp*: exact symbol, then predicates, then ``[True]``, then ``[None]``."""
        target = self.lookup(inp)
        if target is _MISSING:
            raise KeyError(inp)
        return target

    def get(self, inp: Any, default: Any = None) -> Any:  # type: ignore[override]
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
        if self._epsilon is not _MISSING:
            return self._epsilon
        if self._empty:
            return DONE
        limited = ending is not None and source.sent >= ending
        inp = None if limited else source.peek()
        if inp is None and not limited and not eof and self._waiting:
            return PAUSE
        choice = self.lookup(inp)
        if choice is _MISSING:
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
        from .engine import END, Engine

        if not isinstance(source, peeking):
            source = peekable(source)
        step = Engine(self, source, machine, path, data, ending, greedy).step
        while True:
            transition = step()
            if transition is END:
                return
            yield transition

    # --- graph traversal ------------------------------------------------------------
    def nodes(self, seen: set[int] | None = None) -> Iterator["state"]:
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
            inp = True if key is _ANY else None if key is _NON else key
            for one in (target if type(target) is list else [target]):
                yield inp, one


class state_input(state):
    """Consumes one symbol and appends it to ``data['<path>.<context>.input']`` (an array)."""

    def __init__(self, name: Any, **kwds: Any) -> None:
        if kwds.get("extension") is None:
            kwds["extension"] = path_ext_input
        if kwds.get("typecode") is None:
            kwds["typecode"] = "u"
        super().__init__(name, **kwds)

    def accepts(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        inp = source.peek()
        return inp is not None and self.validate(inp)

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        inp = next(source)
        if data is None:
            return
        where = self.where(path)
        if not where:
            return
        store = data.get(where)
        if store is None:
            typecode = self.typecode
            if typecode == "u" and isinstance(inp, int):
                typecode = "B"
            store = data[where] = array.array(typecode) if typecode else []
        store.append(inp)


class state_drop(state_input):
    """Consumes one symbol and discards it (separators, padding)."""

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        next(source)


class state_struct(state):
    """A null state decoding the symbols collected at ``<path>.<context>.input`` with a struct format.

    Kept for the original's parsers that collect bytes one at a time; new parsers
    use :class:`state_fields`, which reads a field in one step.
    """

    def __init__(self, name: Any, format: str = "B", offset: int = 0, index: int = 0,
                 input_extension: str | None = None, **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self._struct = struct.Struct(format)
        self.offset = offset
        self.index = index
        self._input = input_extension if input_extension is not None else path_ext_input

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        ours = self.context(path)
        size = self._struct.size
        beg = self.offset + self.index * size
        raw = data[ours + self._input]
        buf = raw.tobytes() if isinstance(raw, array.array) else bytes(raw)
        value = self._struct.unpack_from(buf, beg)[0]
        existing = data.get(ours) if ours else None
        if isinstance(existing, list):
            existing.append(value)
        else:
            data[ours] = value


class state_fields(state):
    """Consumes a run of fixed-size binary fields in one step, with one precompiled ``struct``.

    ``state_fields('header', '<HHIIQI', ('command', 'length', ...), context='header')``
    stores each named field at ``<path>.<context>.<field>``; with no *fields*, a
    single-value format (``'<H'``) stores its value at ``<path>.<context>``.  A
    ``'8s'`` field yields bytes.  *decode* (optional) maps the stored values.
    """

    def __init__(self, name: Any, format: str, fields: Sequence[str] | None = None, **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self._struct = struct.Struct(format)
        self._unpack = self._struct.unpack
        self.size = self._struct.size
        self.fields = tuple(fields) if fields is not None else None
        if self.fields is not None and len(self.fields) != len(self._struct.unpack(bytes(self.size))):
            raise ValueError(f"{name}: {len(self.fields)} field names for format {format!r}")
        if self.fields is None and len(self._struct.unpack(bytes(self.size))) != 1:
            raise ValueError(f"{name}: format {format!r} holds several values; name them with fields=")

    def accepts(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        return source.has(self.size)

    def consume(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        raw = source.take(self.size)
        if raw is None:
            return False
        if data is not None:
            cached_path, where = self._where
            if path != cached_path or where is None:
                where = self.where(path)
            if self.fields is None:
                if "." in where or "[" in where or not isinstance(data, dict):
                    data[where] = self._unpack(raw)[0]
                else:
                    dict.__setitem__(data, where, self._unpack(raw)[0])
            else:
                dict.update(self._node(path, data) if where else data, zip(self.fields, self._unpack(raw)))
        return True

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        if not self.consume(source, machine, path, data):
            raise NonTerminal(f"{self}: input ended inside a {self.size}-byte field")

    def consumer(self, source: Any, machine: Any = None, path: str | None = None) -> Callable[[Any], bool]:
        take, size, unpack, fields = source.take, self.size, self._unpack, self.fields
        where = self.where(path)
        if fields is None:
            flat = "." not in where and "[" not in where

            def consume_one(data: Any) -> bool:
                raw = take(size)
                if raw is None:
                    return False
                if data is not None:
                    if flat and isinstance(data, dict):
                        dict.__setitem__(data, where, unpack(raw)[0])
                    else:
                        data[where] = unpack(raw)[0]
                return True

            return consume_one
        node = self._node if where else None

        def consume(data: Any) -> bool:
            raw = take(size)
            if raw is None:
                return False
            if data is not None:
                dict.update(data if node is None else node(path, data), zip(fields, unpack(raw)))
            return True

        return consume


class state_bytes(state):
    """Consumes a run of N symbols in one step and stores it (``bytes`` from byte input).

    *length* is an int, a data path relative to this state's path (a length
    field parsed earlier: a length-prefixed field), or a callable
    ``length(path=, data=)``.  The run is stored at ``<path>.<context><extension>``.
    """

    def __init__(self, name: Any, length: int | str | Callable[..., int], **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self.length = length

    def _length(self, path: str | None, data: Any) -> int:
        length = self.length
        if isinstance(length, int):
            return length
        if isinstance(length, str):
            key = (path + "." + length) if path else length
            value = data[key]
        else:
            value = length(path=path, data=data)
        if not isinstance(value, int) or value < 0:
            raise NonTerminal(f"{self}: length {self.length!r} is {value!r}, not a count")
        return value

    def accepts(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        return source.has(self._length(path, data))

    def consume(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        run = source.take(self._length(path, data))
        if run is None:
            return False
        if data is not None:
            data[self.where(path)] = run
        return True

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        if not self.consume(source, machine, path, data):
            raise NonTerminal(f"{self}: input ended inside a {self._length(path, data)}-symbol field")

    def consumer(self, source: Any, machine: Any = None, path: str | None = None) -> Callable[[Any], bool]:
        take, length, where = source.take, self._length, self.where(path)

        def consume(data: Any) -> bool:
            run = take(length(path, data))
            if run is None:
                return False
            if data is not None:
                data[where] = run
            return True

        return consume
