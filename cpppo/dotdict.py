"""``dotdict``: a dict whose dotted keys address nested dicts, readable as attributes.

Parsers deposit their results under dotted paths (``enip.CIP.send_data``), and
users read them as attributes (``data.enip.CIP.send_data``), as in the original
cpppo.  Keys may index lists of dotdicts (``item[1].length``) and back-track
with ``..`` like a file system (``a.x..b`` is ``a.b``).  Iterating a dotdict
gives the full dotted path of every leaf value; ``'a' in d`` is true for a
partial path, so ``setdefault`` works at any depth.

``apidict`` is the original's dotdict for handing values between threads: an attribute
assignment waits (up to its timeout) until another thread reads an attribute.

A key without a dot is an ordinary dict operation, so the hot path of a
parser storing plain field names costs no more than a dict.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.managers
import re
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["dotdict", "dotdict_base", "plain", "apidict", "apidict_base", "apidict_threading",
           "make_apidict_proxy"]

_INDEXED = re.compile(r"^([^\[\]]*)\[(-?\d+)\]$")

_dict_get = dict.__getitem__
_dict_set = dict.__setitem__
_dict_contains = dict.__contains__


def _normalize(key: str) -> str:
    """Resolve ``..`` back-tracking and strip leading/trailing dots."""
    while ".." in key:
        front, back = key.split("..", 1)
        cut = front.rfind(".")
        front = front[:cut] if cut >= 0 else ""
        key = front + ("." if front and back else "") + back
    return key.strip(".")


class dotdict(dict):
    """A dict of dicts addressed by dotted keys: ``d['a.b.c'] = 1; d.a.b.c == 1``."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwds: Any) -> None:
        super().__init__()
        if args or kwds:
            self.update(*args, **kwds)

    # --- resolution -----------------------------------------------------------------
    def _step(self, name: str, create: bool) -> Any:
        """One path element (``name`` or ``name[3]``) below this level."""
        m = _INDEXED.match(name) if "[" in name else None
        if m is None:
            if create and not _dict_contains(self, name):
                _dict_set(self, name, dotdict())
            return _dict_get(self, name)
        base, index = m.group(1), int(m.group(2))
        seq: Any = _dict_get(self, base) if base else self
        return seq[index]

    def _parent(self, key: str, create: bool) -> tuple[Any, str]:
        """The container holding the last element of a dotted *key*, and that element."""
        key = _normalize(key)
        if not key:
            raise KeyError("empty key")
        *heads, last = key.split(".")
        node: Any = self
        for head in heads:
            if isinstance(node, dotdict):
                node = node._step(head, create)
            elif isinstance(node, dict):
                if create and head not in node:
                    node[head] = dotdict()
                node = node[head]
            else:
                raise KeyError(key)
        return node, last

    # --- mapping protocol -----------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if type(key) is str and "." in key and "[" not in key and ".." not in key:
            node: Any = self
            for part in key.split("."):
                if type(node) is not dotdict or not part:
                    break
                node = _dict_get(node, part)
            else:
                return node
        if type(key) is str and ("." in key or "[" in key):
            node, last = self._parent(key, create=False)
            if isinstance(node, dotdict):
                return node._step(last, create=False)
            return node[last]
        return _dict_get(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is str and "." in key and "[" not in key and ".." not in key:
            *heads, last = key.split(".")
            node: Any = self
            for part in heads:
                if not part:
                    break
                nxt = dict.get(node, part)
                if nxt is None:
                    nxt = dotdict()
                    _dict_set(node, part, nxt)
                elif type(nxt) is not dotdict:
                    break
                node = nxt
            else:
                if last:
                    _dict_set(node, last, dotdict(value) if type(value) is dict else value)
                    return
        if type(key) is str and ("." in key or "[" in key):
            node, last = self._parent(key, create=True)
            m = _INDEXED.match(last) if "[" in last else None
            if m is not None:
                base = m.group(1)
                seq = node[base] if base else node
                seq[int(m.group(2))] = value
                return
            node[last] = value
            return
        # A plain dict stored becomes a dotdict layer, as the original's does (``d.a.b`` then works).
        _dict_set(self, key, dotdict(value) if type(value) is dict else value)

    def __delitem__(self, key: str) -> None:
        if type(key) is str and "." in key:
            node, last = self._parent(key, create=False)
            del node[last]
            return
        dict.__delitem__(self, key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]  # any key may be asked: one that is no path fails here, so False
        except (KeyError, IndexError, TypeError, AttributeError):
            return False
        return True

    def get(self, key: str, default: Any = None) -> Any:
        if type(key) is str and "." not in key and "[" not in key:
            return dict.get(self, key, default)
        try:
            return self[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            return default

    def setdefault(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            self[key] = default
            return default

    def pop(self, key: str, *default: Any) -> Any:
        if type(key) is str and "." in key:
            try:
                node, last = self._parent(key, create=False)
                return node.pop(last)
            except (KeyError, IndexError, TypeError, AttributeError):
                if default:
                    return default[0]
                raise KeyError(key) from None
        return dict.pop(self, key, *default)

    def update(self, *args: Any, **kwds: Any) -> None:
        if len(args) > 1:
            raise TypeError("update expects at most one positional argument")
        if args:
            other = args[0]
            pairs = other.items() if isinstance(other, dict) and not isinstance(other, dotdict) else (
                dict.items(other) if isinstance(other, dotdict) else other)
            for key, value in pairs:
                self[key] = value
        for key, value in kwds.items():
            self[key] = value

    # --- attribute access -----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return _dict_get(self, name)
        except KeyError:
            raise AttributeError(repr(name)) from None  # the original's message: its KeyError's, quoted

    def __setattr__(self, name: str, value: Any) -> None:
        _dict_set(self, name, dotdict(value) if type(value) is dict else value)

    def __delattr__(self, name: str) -> None:
        try:
            dict.__delitem__(self, name)
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> list[str]:
        return sorted(set(dir(dict)) | {k for k in dict.keys(self) if isinstance(k, str)})

    #: The original's name for item assignment (what its multiprocessing proxies call).
    def set(self, key: str, value: Any) -> None:
        self[key] = value

    # --- leaf iteration -------------------------------------------------------------
    def _leaves(self, prefix: str = "", depth: int | None = None) -> Iterator[tuple[str, Any]]:
        for key, value in dict.items(self):
            path = f"{prefix}{key}"
            if isinstance(value, dotdict):
                if dict.__len__(value) and (depth is None or depth > 0):
                    yield from value._leaves(path + ".", None if depth is None else depth - 1)
                else:
                    yield path, value
            elif isinstance(value, list) and value and all(isinstance(v, dotdict) for v in value):
                for i, item in enumerate(value):
                    yield from item._leaves(f"{path}[{i}].")
            else:
                yield path, value

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._leaves())

    def keys(self) -> list[str]:  # type: ignore[override]  # the original's API: lists of the dotted leaves
        return [key for key, _ in self._leaves()]

    def values(self) -> list[Any]:  # type: ignore[override]  # the original's API: a list, not a view
        return [value for _, value in self._leaves()]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]  # the original's API: a list, not a view
        return list(self._leaves())

    def iteritems(self, depth: int | None = None) -> Iterator[tuple[str, Any]]:
        """(dotted key, value) of every leaf; *depth* N descends at most N layers below this one
        (0: this layer's own items, as a plain dict's)."""
        return self._leaves(depth=depth)

    def listitems(self, depth: int | None = None) -> list[tuple[str, Any]]:
        return list(self._leaves(depth=depth))

    def iterkeys(self, depth: int | None = None) -> Iterator[str]:
        return (key for key, _ in self._leaves(depth=depth))

    def listkeys(self, depth: int | None = None) -> list[str]:
        """The dotted keys, sorted."""
        return sorted(self.iterkeys(depth))

    def itervalues(self, depth: int | None = None) -> Iterator[Any]:
        return (value for _, value in self._leaves(depth=depth))

    def listvalues(self, depth: int | None = None) -> list[Any]:
        return list(self.itervalues(depth))

    def __repr__(self) -> str:
        """The nested dict, in insertion order, as the original prints a dotdict (``repr`` and ``str``
        alike): ``{'a': {'b': 1}, 'c': [{'d': 2}]}``.  Why: scripts and logs compare it to the original's."""
        return dict.__repr__(self)

    __str__ = __repr__

    def copy(self) -> dotdict:
        out = dotdict()
        for key, value in dict.items(self):
            _dict_set(out, key, value.copy() if isinstance(value, dotdict) else value)
        return out

    def __reduce__(self) -> Any:
        return (dotdict, (), None, None, iter(dict.items(self)))


#: The original's base class name (its dotdict was dotdict_base plus dict).
dotdict_base = dotdict


class apidict_base(dotdict):
    """A dotdict for one thread to hand values to another and know they were taken.

    Why: the original's scripts drive a simulator or a poller from a second thread this way.
    Setting an attribute (or ``set``, ``setdefault``) waits up to the timeout (the first argument)
    until some thread reads an attribute (or ``get``); indexing sets and reads without waiting.
    Reading *any* attribute releases every waiting setter, as in the original.
    """

    __slots__ = ("_lck", "_cnd", "_tmo")
    _sync_mod: Any = threading

    def __init__(self, timeout: float | apidict_base, *args: Any, **kwds: Any) -> None:
        lock = self._sync_mod.RLock()
        object.__setattr__(self, "_lck", lock)
        object.__setattr__(self, "_cnd", self._sync_mod.Condition(lock))
        if isinstance(timeout, apidict_base):
            assert not args, "Unable to support copying apidict w/ iterable of k,v"
            object.__setattr__(self, "_tmo", timeout._tmo)
            args = (timeout.listitems(depth=1),)
        else:
            assert isinstance(timeout, (float, int)), \
                "First argument to apidict must be a numeric timeout (or another apidict)"
            object.__setattr__(self, "_tmo", timeout)
        super().__init__(*args, **kwds)

    def __setitem__(self, key: str, value: Any) -> None:
        with self._cnd:
            super().__setitem__(key, value)

    def __getitem__(self, key: str) -> Any:
        with self._cnd:
            return super().__getitem__(key)

    def __setattr__(self, key: str, value: Any) -> None:
        with self._cnd:
            super().__setattr__(key, value)
            self._cnd.wait(self._tmo)

    def set(self, key: str, value: Any) -> None:
        with self._cnd:
            super().__setitem__(key, value)
            self._cnd.wait(self._tmo)

    def setdefault(self, key: str, default: Any = None) -> Any:
        with self._cnd:
            was = super().setdefault(key, default)
            self._cnd.wait(self._tmo)
            return was

    def __getattr__(self, key: str) -> Any:
        with self._cnd:
            try:
                return super().__getattr__(key)
            finally:
                self._cnd.notify_all()

    def get(self, key: str, default: Any = None) -> Any:
        with self._cnd:
            try:
                return super().get(key, default)
            finally:
                self._cnd.notify_all()

    def __reduce__(self) -> Any:
        return (type(self), (self._tmo, self.listitems(depth=0)))


class apidict_threading(apidict_base):
    """An apidict for threads of one process."""

    __slots__ = ()
    _sync_mod = threading


class apidict(apidict_base):
    """An apidict usable by threads and (through :func:`make_apidict_proxy`) processes."""

    __slots__ = ()
    _sync_mod = multiprocessing


def make_apidict_proxy(apidict_class: type) -> tuple[str, type, type]:
    """``(name, class, proxy)`` for ``SyncManager.register(*make_apidict_proxy(apidict))``: the
    proxy exposes the item and ``get``/``set`` API (attribute access cannot be proxied)."""
    exposed = ("__contains__", "__delitem__", "__getitem__", "__iter__", "__len__", "__setitem__", "clear",
               "copy", "get", "set", "pop", "popitem", "setdefault", "update", "listitems", "listkeys",
               "listvalues")
    make_proxy_type = getattr(multiprocessing.managers, "MakeProxyType")  # noqa: B009 -- untyped in typeshed
    proxy = make_proxy_type(apidict_class.__name__, exposed)
    proxy._method_to_typeid_ = {"__iter__": "Iterator"}
    return apidict_class.__name__, apidict_class, proxy


def plain(**items: Any) -> dotdict:
    """A dotdict of these undotted keys, made without resolving paths: for code that lays out
    many small views (a client's replies, one per result) and knows its keys are plain names."""
    node = dict.__new__(dotdict)
    dict.update(node, items)
    return node
