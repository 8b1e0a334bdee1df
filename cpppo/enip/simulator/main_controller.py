"""The controller the simulator's ``main()`` serves, behind the original cpppo's module-level names.

Why: cpppo 5.2.5 kept its one simulated device in module globals, and its users' scripts and hooks
read them: ``cpppo.server.enip.main.tags`` (tag name -> its Attribute), ``device.directory`` and
``device.lookup(class, instance, attribute)`` (the CIP objects), ``device.resolve(path)`` and
``device.redirect_tag(tag, address)`` (tag names <-> CIP addresses).  Here a controller is an object
(:class:`~cpppo.enip.simulator.controller.plc.Controller`), and a process may serve several; these
names are *views* of one of them: the one ``main()`` set with :func:`use` (the original's scripts
run one simulator per process).  Controllers made any other way are never touched by them.  This is
the project's one documented exception to "no module-level state".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.enip.codec.original_paths import parse_path
from cpppo.enip.simulator.controller.device import Attribute, Object

__all__ = ["use", "current", "tags", "directory", "lookup", "lookup_reset", "resolve", "resolve_element",
           "resolve_tag", "redirect_tag", "symbol_keys"]

log = logging.getLogger(__name__)

#: The controller main() serves (at most one): see the module's docstring.
_served: list[Any] = []

#: The original's order of a CIP address's parts.
symbol_keys = ("class", "instance", "attribute")


def use(served: Any) -> None:
    """Make *served* (a Controller, or anything with a ``.controller``: an EnipService) the one the
    module-level names show, and fill ``main.tags`` from its tags.  ``main()`` calls this."""
    controller = getattr(served, "controller", served)
    _served[:] = [controller]
    tags.refresh()


def current() -> Any:
    """The controller main() serves; LookupError if main() has started none in this process."""
    if not _served:
        raise LookupError("no simulator has been started by cpppo.server.enip.main.main() in this process")
    return _served[0]


def _numbered(controller: Any) -> list[Attribute]:
    """The tags served at ``@2/1/N`` (the Nth; those at a CIP address of their own not counted)."""
    return [tag for tag in controller.tags if getattr(tag, "cip_address", None) is None]


def _address_of(controller: Any, attribute: Attribute) -> tuple[int, int, int]:
    """Where *attribute* is served by number: the object attribute holding it, else ``@2/1/N``."""
    for obj in controller.directory:
        for number, held in obj.attributes.items():
            if held is attribute:
                return obj.class_id, obj.instance_id, number
    numbered = _numbered(controller)
    for index, tag in enumerate(numbered, start=1):
        if tag is attribute:
            return 0x02, 1, index
    raise LookupError(f"{attribute!r} has no CIP address")


class TagEntry(dotdict):
    """One tag of ``main.tags``: ``attribute`` (its Attribute), ``path`` (its CIP address as the
    original's path, or None) and ``error``, which is the Attribute's: a CIP status set here makes
    every client access of the tag fail with it, as the original's ``tags[name].error`` did."""

    __slots__ = ()

    @property
    def error(self) -> int:
        return int(dict.__getitem__(self, "attribute").error)

    @error.setter
    def error(self, status: int) -> None:
        dict.__getitem__(self, "attribute").error = status
        dict.__setitem__(self, "error", status)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "error":   # (a dotdict's attributes are its items: the property is set by name)
            TagEntry.error.fset(self, value)  # type: ignore[attr-defined]
        else:
            super().__setattr__(name, value)


class TagTable(dotdict):
    """``main.tags``: each tag name -> a :class:`TagEntry`, as the original's; filled from the
    served controller by :func:`use`, and again whenever its tags have changed in number.  Names are
    stored with ``dict.__setitem__`` (a tag name may hold a '.'), as the original's examples read
    them: ``dict.__getitem__(tags, name).attribute``."""

    __slots__ = ()

    def refresh(self) -> None:
        """Fill from the served controller (empty if none)."""
        dict.clear(self)
        if not _served:
            return
        controller = _served[0]
        for attribute in controller.tags:
            address = getattr(attribute, "cip_address", None)
            path = None if address is None else {"segment": [{"class": address[0]}, {"instance": address[1]},
                                                              {"attribute": address[2]}]}
            dict.__setitem__(self, attribute.name, TagEntry(attribute=attribute, path=path, error=attribute.error))
        for name, attribute, _ in controller.tags.aliases():
            dict.__setitem__(self, name, TagEntry(attribute=attribute, path=None, error=attribute.error))

    def _current(self) -> None:
        if _served and dict.__len__(self) != len(_served[0].tags) + len(_served[0].tags.aliases()):
            self.refresh()

    def __getitem__(self, key: str) -> Any:
        self._current()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._current()
        return super().__contains__(key)

    def __len__(self) -> int:
        self._current()
        return dict.__len__(self)

    def get(self, key: str, default: Any = None) -> Any:
        self._current()
        return super().get(key, default)

    def _leaves(self, prefix: str = "", depth: int | None = None) -> Iterator[tuple[str, Any]]:
        self._current()   # (keys, items, values and iteration all start here)
        return super()._leaves(prefix, depth)


#: The original's ``cpppo.server.enip.main.tags``.
tags = TagTable()


class DirectoryView(Mapping[str, Any]):
    """``device.directory``: "class.instance.attribute" -> the Attribute ("class.instance.0": the
    Object; "class.instance" and "class": their layers), over the served controller's CIP objects,
    as the original's dotdict was keyed.  Each access reads the controller as it is then."""

    def _snapshot(self) -> dotdict:
        layers = dotdict()
        if _served:
            for obj in _served[0].directory:
                layers[f"{obj.class_id}.{obj.instance_id}.0"] = obj
                for number, attribute in obj.attributes.items():
                    layers[f"{obj.class_id}.{obj.instance_id}.{number}"] = attribute
        return layers

    def __getitem__(self, key: str) -> Any:
        return self._snapshot()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._snapshot()

    def __iter__(self) -> Iterator[str]:
        return iter(self._snapshot())

    def __len__(self) -> int:
        return len(self._snapshot().keys())


#: The original's ``cpppo.server.enip.device.directory``.
directory = DirectoryView()


def lookup(class_id: int | str, instance_id: int = 0, attribute_id: int | None = None) -> Object | Attribute | None:
    """The Object at ``@class/instance`` (no *attribute_id*) or that Attribute, in the served
    controller; None if there is none.  *class_id* may be the "class.instance.attribute" key."""
    if isinstance(class_id, str):
        key = class_id
    else:
        assert attribute_id != 0, f"Class {class_id}, Instance {instance_id}; Invalid Attribute ID 0"
        key = f"{class_id}.{instance_id}.{attribute_id or 0}"
    return directory.get(key)


def lookup_reset() -> None:
    """Forget the served controller (the original's reset of its globals, for tests)."""
    _served.clear()
    dict.clear(tags)


def resolve_tag(tag: str) -> tuple[int, int, int] | None:
    """(class, instance, attribute) where the served controller serves *tag* (any case), or None."""
    if not _served:
        return None
    controller = _served[0]
    wanted = tag.lower()
    for name, attribute in [(a.name, a) for a in controller.tags] + [(n, a) for n, a, _ in controller.tags.aliases()]:
        if name.lower() == wanted:
            return _address_of(controller, attribute)
    return None


def redirect_tag(tag: str, address: Mapping[str, int]) -> tuple[int, int, int]:
    """Serve the attribute at *address* (``{'class': C, 'instance': I, 'attribute': A}``) also as the
    tag *tag*; returns ``(C, I, A)``.  AssertionError for a malformed address or none there."""
    assert isinstance(address, Mapping) and set(address) == set(symbol_keys), \
        f"address must hold exactly {symbol_keys}, not {address!r}"
    ids = tuple(int(address[k]) for k in symbol_keys)
    attribute = lookup(*ids)
    assert isinstance(attribute, Attribute), f"no Attribute at @{ids[0]}/{ids[1]}/{ids[2]} to redirect {tag!r} to"
    current().tags.alias(tag, attribute)
    tags.refresh()
    log.info("Redirecting: %-24s --> Class %d, Inst. %d, Attr. %d", tag.lower(), *ids)
    return ids  # type: ignore[return-value]  # three ints


def _segments(path: Any) -> list[dict[str, Any]]:
    if isinstance(path, Mapping) and "segment" in path:
        return list(path["segment"])
    return parse_path(path)


def resolve(path: Any, attribute: bool | int = False) -> tuple[int, int, int | None]:
    """(class, instance, attribute) a path names: its ``class``/``instance``/``attribute`` segments,
    or a tag name resolved as :func:`resolve_tag` does (``Tag.Member`` names joined).  Without
    *attribute*, the attribute is None; an int *attribute* is the default when the path has none.

    Raises:
        AssertionError: a name that is no tag, or a path that names no class and instance.
    """
    result: dict[str, int | None] = {"class": None, "instance": None, "attribute": None}
    name = ""
    for term in _segments(path):
        if (result["class"] is not None and result["instance"] is not None
                and (result["attribute"] is not None or not attribute
                     or (attribute is not True and "attribute" not in term))):
            break
        working = dict(term)
        while working:
            for key in symbol_keys:
                if key in working:
                    assert result[key] is None, f"Failed to override {key!r}=={result[key]!r} in path {path!r}"
                    result[key] = working.pop(key)
            if not working:
                break
            assert "symbolic" in working, (f"Unrecognized symbolic name {name!r} found in path {path!r}" if name
                                           else f"Invalid term {working!r} found in path {path!r}")
            name = f"{name}.{working['symbolic']}" if name else working["symbolic"]
            found = resolve_tag(name)
            working = dict(zip(symbol_keys, found)) if found else {}
            if found:
                name = ""
    assert not name, f"Unrecognized symbolic name {name!r} found in path {path!r}"
    if result["attribute"] is None and attribute and attribute is not True:
        result["attribute"] = int(attribute)
    assert result["class"] is not None and result["instance"] is not None and (
        not attribute or result["attribute"] is not None), f"Failed to resolve Class, Instance from path {path!r}"
    return result["class"], result["instance"], result["attribute"] if attribute else None


def resolve_element(path: Any) -> tuple[int, ...]:
    """The first element index a path names, as a tuple; ``(0,)`` if it names none."""
    for term in _segments(path):
        if "element" in term:
            return (term["element"],)
    return (0,)
