"""Symbol sources for state machines: ``peekable``, ``chainable``, ``rememberable``.

A machine reads its input one symbol at a time (``peek()``, ``next()``) or, in
the bulk states that carry binary protocols, a whole field at a time
(``take(n)``).  Input arrives in pieces (a Twisted ``dataReceived`` per TCP
segment), so a source is a queue of chunks: ``chain(chunk)`` appends one, and
a machine that runs out of input pauses until the next arrives.

Strategy: sequence chunks (``bytes``, ``str``, lists) are kept whole and read
by index, so a field that lies inside one chunk is a single slice; only a field
that straddles chunks folds the chunks together (once).  Any other iterable is
read item by item.  A source records ``starved`` when a reader asked for more
than it had; ``chain`` clears it, so a driver can tell "needs more input" from
"cannot use this input".  ``chains`` counts the chunks ever added, so a machine
can tell a retry with fresh input from a retry without.

As in the original, chaining a non-iterable (``chain(None)``) makes every
later read raise ``TypeError``: a way to force a consumer to stop.
"""

from __future__ import annotations

import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["peeking", "chaining", "remembering", "peekable", "chainable", "rememberable", "is_iterator", "is_listlike"]

_SEQUENCES = (bytes, str, list, tuple)
_FROZEN = (bytearray, memoryview)


def _normalize(chunk: Any) -> Any:
    """Freeze mutable binary chunks (a caller may reuse its buffer) and arrays."""
    if isinstance(chunk, _FROZEN):
        return bytes(chunk)
    if isinstance(chunk, array.array):
        return chunk.tobytes() if chunk.typecode in "bB" else (
            chunk.tounicode() if chunk.typecode == "u" else list(chunk))
    return chunk


class _Terminator:
    """Stands in the chunk queue for a non-iterable: every read past it raises TypeError."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class peeking:
    """An iterator with ``peek``, ``push`` and ``take``, counting the symbols it has ``sent``."""

    def __init__(self, iterable: Iterable[Any] | None = None) -> None:
        self._back: list[Any] = []  # pushed-back symbols; the last is the next out
        self._buf: Sequence[Any] | None = None  # the current sequence chunk, read at _pos
        self._pos = 0
        self._iter: Iterator[Any] | None = None  # the current non-sequence chunk
        self._chain: deque[Any] = deque()  # chunks not yet reached
        self._sent = 0
        self.chains = 0
        self.starved = False
        if iterable is not None:
            self._enqueue(iterable)

    # --- loading --------------------------------------------------------------------
    def _enqueue(self, iterable: Any) -> None:
        if type(iterable) is bytes:  # the common case: a network read
            self._chain.append(iterable)
            self.chains += 1
            self.starved = False
            return
        chunk = _normalize(iterable)
        if not isinstance(chunk, _SEQUENCES):
            try:
                chunk = iter(chunk)
            except TypeError:
                chunk = _Terminator(chunk)
        self._chain.append(chunk)
        self.chains += 1
        self.starved = False

    def _advance(self) -> bool:
        """Make the next non-empty chunk current; False if there is none."""
        self._buf, self._pos, self._iter = None, 0, None
        while self._chain:
            chunk = self._chain[0]
            if isinstance(chunk, _Terminator):
                raise TypeError(f"source terminated by non-iterable {chunk.value!r}")
            self._chain.popleft()
            if isinstance(chunk, _SEQUENCES):
                if len(chunk):
                    self._buf = chunk
                    return True
            else:
                self._iter = chunk
                return True
        return False

    # --- the iterator protocol ------------------------------------------------------
    def __repr__(self) -> str:
        return f"after {self._sent} symbols"

    @property
    def sent(self) -> int:
        """The net number of symbols delivered (``next`` minus ``push``)."""
        return self._sent

    def __iter__(self) -> peeking:
        return self

    def __next__(self) -> Any:
        if self._back:
            self._sent += 1
            return self._back.pop()
        while True:
            buf = self._buf
            if buf is not None:
                pos = self._pos
                if pos < len(buf):
                    self._pos = pos + 1
                    self._sent += 1
                    return buf[pos]
            elif self._iter is not None:
                try:
                    item = next(self._iter)
                except StopIteration:
                    pass
                else:
                    self._sent += 1
                    return item
            if not self._advance():
                self.starved = True
                raise StopIteration

    next = __next__

    def push(self, item: Any) -> None:
        """Return *item* to the front of the input."""
        self._back.append(item)
        self._sent -= 1

    def peek(self) -> Any:
        """The next symbol without consuming it, or None if no input is available."""
        if self._back:
            return self._back[-1]
        while True:
            buf = self._buf
            if buf is not None:
                if self._pos < len(buf):
                    return buf[self._pos]
            elif self._iter is not None:
                try:
                    item = next(self._iter)
                except StopIteration:
                    pass
                else:
                    self._back.append(item)  # not yet sent: no change to the count
                    return item
            if not self._advance():
                self.starved = True
                return None

    def exhausted(self) -> bool:
        """True if nothing is buffered: no pushed-back symbol, no unread chunk (cheaper than peek)."""
        if self._back or self._chain or self._iter is not None:
            return False
        buf = self._buf
        return buf is None or self._pos >= len(buf)

    # --- bulk access ----------------------------------------------------------------
    def available(self) -> int:
        """How many symbols are known to be ready (iterator chunks count as none)."""
        count = len(self._back)
        if self._buf is not None:
            count += len(self._buf) - self._pos
        for chunk in self._chain:
            if isinstance(chunk, _SEQUENCES):
                count += len(chunk)
            else:
                break
        return count

    def has(self, n: int) -> bool:
        """True if *n* symbols can be taken now; otherwise records ``starved``."""
        if not self._back:
            buf = self._buf
            if (buf is None or self._pos >= len(buf)) and self._chain and self._iter is None:
                self._advance()  # the current chunk is used up: move to the next
                buf = self._buf
            if buf is not None and self._pos + n <= len(buf):
                return True
        if self._coalesce(n):
            return True
        self.starved = True
        return False

    def take(self, n: int) -> Any:
        """The next *n* symbols as one sequence (``bytes`` from byte input), or None if not all ready.

        Nothing is consumed when None is returned.
        """
        if not self._back:
            buf = self._buf
            if (buf is None or self._pos >= len(buf)) and self._chain and self._iter is None:
                chunk = self._chain[0]
                if type(chunk) is bytes and chunk:  # the common case: the next network read
                    self._chain.popleft()
                    self._buf = buf = chunk
                    self._pos = 0
                else:
                    self._advance()  # the current chunk is used up: move to the next
                    buf = self._buf
            if buf is not None:
                pos = self._pos
                end = pos + n
                if end <= len(buf):
                    self._pos = end
                    self._sent += n
                    return buf[pos:end]
        if not self._coalesce(n):
            self.starved = True
            return None
        buf = self._buf
        pos = self._pos
        self._pos = pos + n
        self._sent += n
        return buf[pos:pos + n]  # type: ignore[index]  # _coalesce(n) succeeded: _buf holds the n symbols

    def _coalesce(self, n: int) -> bool:
        """Fold pushed-back symbols and following chunks of the same kind into one buffer.

        Returns True if the current buffer then holds at least *n* symbols.
        """
        buf = self._buf
        if buf is None:
            if self._iter is not None:
                return self._materialize(n)
            if not self._back:
                if not self._advance():
                    return False
                if self._buf is None:
                    return self._materialize(n)
                return self._coalesce(n)
            buf = self._back[-1:]  # only pushed-back symbols: infer the kind from them
            if isinstance(buf[0], int):
                buf = b""
            elif isinstance(buf[0], str):
                buf = ""
            else:
                buf = []
            self._buf, self._pos = buf, 0
        kind: type = bytes if isinstance(buf, bytes) else str if isinstance(buf, str) else list
        parts: list[Any] = []
        if self._back:
            back = self._back[::-1]
            try:
                parts.append(bytes(back) if kind is bytes else "".join(back) if kind is str else back)
            except (TypeError, ValueError):
                return False
        parts.append(buf[self._pos:] if kind is not list else list(buf[self._pos:]))
        have = sum(len(p) for p in parts)
        used = 0
        for chunk in self._chain:
            if have >= n:
                break
            if kind is list and isinstance(chunk, (list, tuple)):
                parts.append(list(chunk))
            elif isinstance(chunk, kind):
                parts.append(chunk)
            else:
                break
            have += len(chunk)
            used += 1
        for _ in range(used):
            self._chain.popleft()
        self._back.clear()
        if kind is list:
            merged: Any = [item for part in parts for item in part]
        else:
            merged = kind().join(parts)
        self._buf, self._pos = merged, 0
        return have >= n

    def _materialize(self, n: int) -> bool:
        """Pull up to *n* symbols from an iterator chunk into a list buffer."""
        items: list[Any] = []
        while len(items) < n:
            try:
                items.append(self.__next__())
            except StopIteration:
                break
        for item in reversed(items):
            self.push(item)
        return len(items) >= n


class chaining(peeking):
    """A peeking iterator that more input can be ``chain``-ed onto, as it arrives."""

    #: Append an iterable (bytes, str, list, any iterable; a non-iterable terminates).
    chain = peeking._enqueue


class remembering(chaining):
    """A chaining iterator that remembers the symbols it delivered (``memory``, ``forget()``)."""

    def __init__(self, iterable: Iterable[Any] | None = None) -> None:
        super().__init__(iterable)
        self.memory: list[Any] = []

    def __repr__(self) -> str:
        return f"{super().__repr__()}: {self.memory!r}"

    def forget(self) -> None:
        self.memory = []

    def __next__(self) -> Any:
        item = super().__next__()
        self.memory.append(item)
        return item

    next = __next__

    def take(self, n: int) -> Any:
        got = super().take(n)
        if got is not None:
            self.memory.extend(got)
        return got

    def push(self, item: Any) -> None:
        """Push back *item*, which must be the last symbol delivered."""
        if self.memory:
            last = self.memory.pop()
            if last != item:
                self.memory.append(last)
                raise AssertionError(f"pushed {item!r}, but the last symbol delivered was {last!r}")
        super().push(item)


class peekable:
    """``peekable(x)`` is *x* if it already peeks, else a :class:`peeking` iterator over it."""

    def __new__(cls, iterable: Any = None) -> Any:
        if hasattr(iterable, "peek") and hasattr(iterable, "sent"):
            return iterable
        return peeking(iterable)


class chainable:
    """``chainable(x)`` is *x* if it is already :class:`chaining`, else a new one over it."""

    def __new__(cls, iterable: Any = None) -> Any:
        if isinstance(iterable, chaining):
            return iterable
        return chaining(iterable)


class rememberable:
    """``rememberable(x)`` is *x* if it is already :class:`remembering`, else a new one over it."""

    def __new__(cls, iterable: Any = None) -> Any:
        if isinstance(iterable, remembering):
            return iterable
        return remembering(iterable)


def is_iterator(thing: Any) -> bool:
    """Whether ``thing`` is already an iterator (a generator, a ``peekable``...): the original's test,
    which its scripts use to decide whether to wrap a source before feeding it to a machine."""
    return hasattr(thing, "__next__")


def is_listlike(thing: Any) -> bool:
    """Something indexable like a list or tuple, but not a str or a class: the original's test, where
    bytes and a dict (a ``state``, a ``dotdict``) count as list-like too."""
    return not isinstance(thing, (str, type)) and hasattr(thing, "__getitem__")
