"""What a client learns of its target's tags, once per connection: structure templates, BOOL arrays
and the string form each tag takes.

Why learn at all: a Read Tag reply says what it carries (an atomic type code, or 0x02A0 and a
structure handle) but not how a structure is laid out, and a tag string (``Bits[35]``,
``Name=(STRING)x``) does not say whether ``Bits`` is a BOOL array or which string form ``Name``
takes.  The client finds out as it goes, on the connection it already has, and remembers it for
the connection's life (a target's tags do not change shape under a client):

- A structure's layout comes from the Template object (0x6C), found from the Symbol object
  (0x6B): the tag list gives each structure tag's template instance, a Get Attribute List of the
  instance its handle, member count and sizes, and Read Template its members.  Only what a reply
  needs is fetched (:class:`TemplateFetch`); the templates are kept by instance and by handle.
- A Logix BOOL[] is stored in DWORDs: a read of one of its elements answers with a DWORD (type
  0xD3, which Logix has for nothing else), or with "beyond the end" past the 32nd; the tag is then
  remembered as a BOOL array and its elements read and written as bits of their word.  A BOOL[]
  member of a structure is a DWORD array in its template, and is decoded to its bits.
- A ``(STRING)`` write goes in the Logix form (the STRING structure) and, if the target refuses it,
  in the CIP form (0xD0, the original cpppo simulator's); the form that worked is remembered.

Nothing here does I/O: :class:`TemplateFetch` hands out requests and takes replies; the pipeline
(:mod:`.batch`) sends them on the operation's own place on the wire.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec import browse, cip, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import ClassCode, Service
from cpppo.enip.codec.epath import Bit, Logical

__all__ = ["Shapes", "TemplateFetch", "TemplateInfo", "tag_key", "is_string_template"]

STRUCT_BIT = 0x8000
#: The most requests one structure's learning may take (the Symbol list's pages and the templates).
MAX_REQUESTS = 4096
_PARTIAL = 0x06
_SYMBOL_ATTRIBUTES = (1, 2)                 # name, type
_TEMPLATE_ATTRIBUTES = (1, 2, 4, 5)         # handle, member count, definition words, structure size
_UINT = struct.Struct("<H")


def tag_key(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a tag's learnt shape is kept under: its path without a bit or trailing elements (every
    element of an array has the element type)."""
    end = len(path)
    while end and (isinstance(path[end - 1], Bit) or
                   (isinstance(path[end - 1], Logical) and path[end - 1].kind == "element")):
        end -= 1
    return path[:end]


@dataclass(slots=True)
class TemplateInfo:
    """One Template instance: its attributes, and its members once read."""

    instance: int
    handle: int = 0
    members: int = 0
    words: int = 0
    size: int = 0
    template: browse.Template | None = None


def is_string_template(template: browse.Template) -> bool:
    """A STRING-family structure: visible members LEN and DATA (a SINT array), and nothing else."""
    visible = [m for m in template.members if not m.hidden]
    names = {m.name.upper(): m for m in visible}
    data = names.get("DATA")
    return (len(visible) == 2 and "LEN" in names and data is not None and data.info > 0
            and data.type & 0x0FFF == types.SINT.code)


@dataclass
class Shapes:
    """What the client knows of one target's tags (one per :class:`~.core.ClientCore`)."""

    templates: dict[int, TemplateInfo] = field(default_factory=dict)   # by instance
    by_handle: dict[int, TemplateInfo] = field(default_factory=dict)
    listed: bool = False                                              # the Symbol list was read
    symbol_instances: list[int] = field(default_factory=list)         # template instances it names
    bool_arrays: set[tuple[Any, ...]] = field(default_factory=set)
    string_forms: dict[tuple[Any, ...], int] = field(default_factory=dict)   # key -> type code that worked
    unreadable: set[int] = field(default_factory=set)                 # handles whose template was not found

    def known(self, handle: int | None) -> bool:
        """Whether a structure of this handle can be decoded (its template and nested ones are read)."""
        info = self.by_handle.get(handle or 0)
        return info is not None and self._complete(info)

    def _complete(self, info: TemplateInfo) -> bool:
        if info.template is None:
            return False
        for member in info.template.members:
            if member.type & STRUCT_BIT:
                nested = self.templates.get(member.type & 0x0FFF)
                if nested is None or not self._complete(nested):
                    return False
        return True

    # --- values ------------------------------------------------------------------------------
    def decode(self, handle: int | None, data: bytes) -> list[Any]:
        """The structures (of *handle*) in *data*, each a dict of its members by name (a str for a
        STRING-family type)."""
        if handle == types.LOGIX_STRING_HANDLE and handle not in self.by_handle:
            return types.LOGIX_STRING.decode(data)
        info = self.by_handle[handle or 0]
        size = info.size or 1
        return [self._structure(info, data, at) for at in range(0, len(data) - size + 1, size)]

    def _structure(self, info: TemplateInfo, data: bytes, base: int) -> Any:
        template = info.template
        assert template is not None
        if is_string_template(template):
            members = {m.name.upper(): m for m in template.members}
            length = int.from_bytes(data[base + members["LEN"].offset:base + members["LEN"].offset + 4],
                                    "little", signed=True)
            text = members["DATA"]
            length = max(0, min(length, text.info))
            return bytes(data[base + text.offset:base + text.offset + length]).decode("latin-1")
        value: dict[str, Any] = {}
        for member in template.members:
            if member.hidden or not member.name:
                continue
            at = base + member.offset
            if member.type & STRUCT_BIT:
                nested = self.templates[member.type & 0x0FFF]
                items = [self._structure(nested, data, at + i * nested.size) for i in range(max(member.info, 1))]
                value[member.name] = items if member.info else items[0]
                continue
            code = member.type & 0x0FFF
            if code == types.BOOL.code:
                value[member.name] = bool(data[at] >> member.info & 1)
                continue
            kind = types.TYPES_BY_CODE.get(code)
            if kind is None or not kind.size:
                value[member.name] = None
                continue
            items = kind.decode(data, max(member.info, 1), at)
            if code == types.DWORD.code and member.info:   # a BOOL[] member: its DWORDs' bits, as pycomm3 gives
                items = types.bits_from_dwords(items)
            value[member.name] = items if member.info else items[0]
        return value

    def fetch(self, handle: int) -> TemplateFetch:
        """The requests that learn the structure of *handle*."""
        return TemplateFetch(self, handle)


class TemplateFetch:
    """Learns one structure's template (and its nested structures'): ``next_request()`` gives the
    next request to send (None: done, or nothing more can be learnt), ``feed(reply)`` its reply."""

    def __init__(self, shapes: Shapes, handle: int) -> None:
        self.shapes = shapes
        self.handle = handle
        self.symbol_start = 0
        self.chunks: list[bytes] = []
        self.asked: cip.Request | None = None
        self.failed = False
        self.requests = 0
        self._steps = self._plan()

    def next_request(self) -> cip.Request | None:
        self.requests += 1   # (a peer paging for ever, or a template that never ends, is cut short)
        self.asked = next(self._steps, None) if self.requests <= MAX_REQUESTS else None
        if self.asked is None and not self.shapes.known(self.handle):
            self.shapes.unreadable.add(self.handle)   # (asked once per connection)
        return self.asked

    def feed(self, reply: cip.Reply) -> None:
        asked = self.asked
        assert asked is not None
        shapes = self.shapes
        if asked.service == Service.GET_INSTANCE_ATTRIBUTE_LIST:
            if reply.status not in (0, _PARTIAL):
                self.failed = shapes.listed = True   # (no Symbol object: nothing to learn from)
                return
            found = browse.decode_symbol_instances(reply.payload(), _SYMBOL_ATTRIBUTES)
            for symbol in found:
                if symbol.type & STRUCT_BIT and not symbol.type & 0x1000:
                    instance = symbol.type & 0x0FFF
                    if instance not in shapes.symbol_instances:
                        shapes.symbol_instances.append(instance)
            if reply.status == _PARTIAL and found:
                self.symbol_start = found[-1].instance + 1
            else:
                shapes.listed = True
        elif asked.service == Service.GET_ATTRIBUTE_LIST:
            instance = _instance(asked)
            info = shapes.templates.setdefault(instance, TemplateInfo(instance))
            if reply.status:
                info.handle = -1   # (never matches: asked once)
                return
            values = {v.attribute: v.data for v in browse.decode_attribute_list_reply(
                reply.payload(), browse.TEMPLATE_ATTRIBUTES) if not v.status}
            info.handle = _UINT.unpack(values.get(1, b"\0\0"))[0]
            info.members = _UINT.unpack(values.get(2, b"\0\0"))[0]
            info.words = int.from_bytes(values.get(4, b""), "little")
            info.size = int.from_bytes(values.get(5, b""), "little")
            shapes.by_handle.setdefault(info.handle, info)
        else:   # Read Template
            info = shapes.templates[_instance(asked)]
            if reply.status not in (0, _PARTIAL):
                info.template = browse.Template(f"#{info.instance}", (), info.handle)   # (unreadable: empty)
                self.chunks = []
                return
            data = reply.payload()
            self.chunks.append(data)
            if reply.status != _PARTIAL or not data:
                data = b"".join(self.chunks)
                self.chunks = []
                info.template = browse.decode_template(data, info.members)

    def _plan(self) -> Iterator[cip.Request]:
        """The requests, each made when the one before it is answered."""
        shapes = self.shapes
        target = shapes.by_handle.get(self.handle)
        while target is None and not self.failed:
            if not shapes.listed:
                yield cip.Request(Service.GET_INSTANCE_ATTRIBUTE_LIST,
                                  (Logical("class", ClassCode.SYMBOL), Logical("instance", self.symbol_start)),
                                  data=_attribute_ids(_SYMBOL_ATTRIBUTES))
                continue
            unasked = [i for i in shapes.symbol_instances if i not in shapes.templates]
            if not unasked:
                return
            yield _get_attributes(unasked[0])
            target = shapes.by_handle.get(self.handle)
        if target is None:
            return
        yield from self._read(target)

    def _read(self, info: TemplateInfo) -> Iterator[cip.Request]:
        """Read Template of *info* and of every structure its members use."""
        while info.template is None:
            done = sum(len(c) for c in self.chunks)
            yield cip.Request(Service.READ_TAG, _template_path(info.instance),
                              body=logix.ReadTemplate(done, max(info.words * 4 - 21 - done, 1)))
        for member in info.template.members:
            if member.type & STRUCT_BIT:
                instance = member.type & 0x0FFF
                if instance not in self.shapes.templates:
                    yield _get_attributes(instance)
                nested = self.shapes.templates[instance]
                if nested.handle != -1:
                    yield from self._read(nested)


def _attribute_ids(ids: tuple[int, ...]) -> bytes:
    return _UINT.pack(len(ids)) + b"".join(_UINT.pack(i) for i in ids)


def _template_path(instance: int) -> tuple[Any, ...]:
    return Logical("class", ClassCode.TEMPLATE), Logical("instance", instance)


def _get_attributes(instance: int) -> cip.Request:
    return cip.Request(Service.GET_ATTRIBUTE_LIST, _template_path(instance), data=_attribute_ids(_TEMPLATE_ATTRIBUTES))


def _instance(request: cip.Request) -> int:
    return int(request.path[1].value)
