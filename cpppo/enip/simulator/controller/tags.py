"""Logix tags and their services: Read/Write Tag [Fragmented], Read Modify Write.

A :class:`Tags` table maps tag names to Attributes; :meth:`Tags.serve` answers
one tag request (already decoded by the codec) with a reply record, or a
Deferred of one when the tag's Attribute answers slowly.  Errors are the
statuses a ControlLogix gives: 0x04 for a tag it does not have, 0xFF with
extended 0x2105 for elements beyond the tag, 0xFF/0x2107 for a write of the
wrong type, 0x13/0x15 for too little or too much data, 0x08 for a service a
tag does not support.

Reads larger than the reply budget (what fits in the unconnected message, or
the connection's negotiated size) come back as far as they fit, with status
0x06 (partial transfer): Read Tag Fragmented then continues from the byte
offset the client sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer

from cpppo.enip.codec import cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.budget import Cache
from cpppo.enip.codec.epath import Bit, Logical, Symbolic
from cpppo.enip.simulator.controller import members
from cpppo.enip.simulator.controller.device import Attribute, Refusal
from cpppo.enip.simulator.controller.device import CIPError as CIPError  # (its old name, for scripts)
from cpppo.enip.simulator.controller.names import fold
from cpppo.enip.simulator.controller.structures import StructTag

__all__ = ["Tags", "UNCONNECTED_REPLY_SIZE"]

#: The largest reply message a Logix controller sends unconnected (UCMM).
UNCONNECTED_REPLY_SIZE = 504
_REPLY_HEAD = 4  # service, reserved, status, extended size
_REMEMBERED = 4096  # paths (and Read Tag requests) the tags remember where they land
_PATH_COST, _ENTRY_COST = 160, 256  # bytes a remembered path's segment and entry hold, roughly

PARTIAL, NOT_ENOUGH, TOO_MUCH, GENERAL = 0x06, 0x13, 0x15, 0xFF
PRIVILEGE = 0x0F  # a write to a Read Only tag, any access to an ExternalAccess None tag
READ_ONLY, NO_ACCESS = 2, 3  # external access, as the Symbol object's attribute 10 reports it
OUT_OF_RANGE, TYPE_MISMATCH = 0x2105, 0x2107


@dataclass(slots=True, eq=False)
class _KnownRead:
    """A Read Tag request of an atomic tag served before (the same object again: a connection keeps
    the requests it decoded by their bytes): its tag and first element, and its last reply with the
    value bytes in it.  That reply serves again while the bytes read are the same (a poller reading a
    value that did not change): it is immutable, and a write changes the bytes."""

    request: cip.Request
    tag: Attribute
    start: int
    data: bytes | None = None
    reply: cip.Reply | None = None


def _unforced(attribute: Attribute, name: str | None = None) -> Attribute:
    """*attribute*, unless an error is forced on it (then every access fails with that status)."""
    if attribute.error:
        raise Refusal(attribute.error, message=f"tag {name or attribute.name!r} forced to fail")
    return attribute


class Tags:
    """The controller's tags, by name, and the services that read and write them.

    ``on_access(kind, attribute, start, stop, values)`` (optional) is told of every
    completed read ("read") and write ("write"): the ``-p/--print`` summary and the
    service's statistics hang off it.
    """

    def __init__(self, on_access: Callable[..., None] | None = None) -> None:
        self._tags: dict[str, Attribute] = {}
        self._aliases: dict[str, tuple[Attribute, tuple[Any, ...]]] = {}  # alias tags (an export's)
        self._folded: dict[str, str] = {}  # tag and alias names ignoring case: their declared spelling
        # Clients ask for the same paths again and again: where each path lands, until the tags change.
        # Peers choose the paths: what these hold is charged to the process's byte budget (.budget).
        self._located: Cache = Cache(_REMEMBERED)
        # ... and each Read Tag request of an atomic tag (the same object again: a connection keeps
        # the requests it decoded by their bytes): the request, its tag and first element, by id.
        self._reads: Cache = Cache(_REMEMBERED)
        self.on_access = on_access

    def alias(self, name: str, attribute: Attribute, path: tuple[Any, ...] = ()) -> None:
        """Serve *attribute* also as *name* (an alias tag of an export: the same storage); *path*
        (element and member segments) makes it an alias of a part of it (``Motor1.Speed``)."""
        self._aliases[name] = (attribute, tuple(path))
        self._folded.setdefault(fold(name), name)
        self._located.clear()
        self._reads.clear()

    def aliases(self) -> list[tuple[str, Attribute, tuple[Any, ...]]]:
        """The alias names, the tags they name and the path within, in the order given."""
        return [(name, attribute, path) for name, (attribute, path) in self._aliases.items()]

    def add(self, attribute: Attribute) -> Attribute:
        self._tags[attribute.name] = attribute
        self._folded.setdefault(fold(attribute.name), attribute.name)
        self._located.clear()
        self._reads.clear()
        return attribute

    def __getitem__(self, name: str) -> Attribute:
        return self._tags[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tags

    def __iter__(self):
        return iter(self._tags.values())

    def __len__(self) -> int:
        return len(self._tags)

    # --- addressing -------------------------------------------------------------------
    def locate(self, path: tuple[Any, ...]) -> tuple[Attribute, list[Any]]:
        """The tag a symbolic path starts with (the longest run of names that is one:
        ``Program:Main.Tag`` is one tag), and the segments after it."""
        try:
            found = self._located.get(path)
        except TypeError:  # (a list, or a segment holding one: not remembered)
            return self._locate(path)
        if found is None:
            attribute, rest = self._locate(path)
            self._located.remember(path, (attribute, tuple(rest)), _PATH_COST * len(path) + _ENTRY_COST)
            return attribute, rest
        attribute = _unforced(found[0])
        return attribute, list(found[1])

    def _locate(self, path: tuple[Any, ...]) -> tuple[Attribute, list[Any]]:
        if not path or not isinstance(path[0], Symbolic):
            raise Refusal(0x04, message="not a tag path")
        run = 1
        while run < len(path) and isinstance(path[run], Symbolic):
            run += 1
        for end in range(run, 0, -1):
            name = ".".join(segment.name for segment in path[:end])
            attribute, within = self._tags.get(name), ()
            if attribute is None:  # Logix names ignore case: try the declared spelling
                name = self._folded.get(fold(name), name)
                attribute = self._tags.get(name)
            if attribute is None and name in self._aliases:
                attribute, within = self._aliases[name]
            if attribute is not None:
                return _unforced(attribute, name), list(within) + list(path[end:])
        raise Refusal(0x04, message=f"no tag {path[0].name!r}")

    def resolve(self, path: tuple[Any, ...]) -> tuple[Attribute, int]:
        """The (atomic) tag and the first element a symbolic path names."""
        attribute, rest = self.locate(path)
        return attribute, self._element(attribute, rest)

    def _element(self, attribute: Attribute, rest: list[Any]) -> int:
        """The first element the segments after an (atomic) tag's name name."""
        if not rest:
            return 0
        indices = [s.value for s in rest if isinstance(s, Logical) and s.kind == "element"]
        if len(indices) != len(rest):
            raise Refusal(0x04, message=f"unsupported path for tag {attribute.name!r}")
        return self._flatten(attribute, indices)

    @staticmethod
    def _flatten(attribute: Attribute, indices: list[int]) -> int:
        """The element a list of indices names: row-major over the tag's dimensions (one index: flat)."""
        return members.flat_index(indices, getattr(attribute, "dims", None) or (len(attribute),), attribute.name)

    @staticmethod
    def _check_range(attribute: Attribute, start: int, count: int) -> None:
        if count < 1 or start + count > len(attribute):
            raise Refusal(GENERAL, (OUT_OF_RANGE,),
                           f"{attribute.name}[{start}:{start + count}] beyond its {len(attribute)} elements")

    # --- services ---------------------------------------------------------------------
    def serve(self, request: cip.Request, budget: int = UNCONNECTED_REPLY_SIZE) -> Any:
        """The reply to one tag request (or a Deferred of it); Refusal for a refused one."""
        body = request.body
        reply_service = request.service | 0x80
        known = self._reads.get(id(request))
        if known is not None and known.request is request:   # a read served before: only the checks remain
            tag = known.tag
            if tag.error:
                _unforced(tag)
            if getattr(tag, "external_access", 0) != NO_ACCESS:
                return self._read(tag, known.start, reply_service, body.elements, 0, budget, known)
        tag, rest = self.locate(request.path)
        access = getattr(tag, "external_access", 0)
        if access == NO_ACCESS or ((access == READ_ONLY or getattr(tag, "constant", False)) and isinstance(
                body, (logix.WriteTag, logix.WriteTagFragmented, logix.ReadModifyWrite))):
            shown = {READ_ONLY: "read only", NO_ACCESS: "none"}.get(access, "read/write, but a constant")
            raise Refusal(PRIVILEGE, message=f"tag {tag.name!r}: external access {shown}")
        if isinstance(tag, StructTag):
            return self._serve_structure(tag, rest, request, budget)
        if rest and isinstance(rest[-1], Bit):  # an alias of a bit of an integer (an export's Flags.5)
            return self._serve_bit(tag, rest[:-1], rest[-1].bit, request)
        if isinstance(body, logix.ReadTag):
            start = self._element(tag, rest)
            known = _KnownRead(request, tag, start)
            self._reads.remember(id(request), known, _ENTRY_COST + budget)  # (its reply's bytes: within budget)
            return self._read(tag, start, reply_service, body.elements, 0, budget, known)
        if isinstance(body, logix.ReadTagFragmented):
            return self._read(tag, self._element(tag, rest), reply_service, body.elements, body.offset, budget)
        if isinstance(body, (logix.WriteTag, logix.WriteTagFragmented)):
            return self._write(tag, self._element(tag, rest), reply_service, body)
        if isinstance(body, logix.ReadModifyWrite):
            return self._read_modify_write(tag, self._element(tag, rest), reply_service, body)
        raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported on a tag")

    def _serve_structure(self, tag: StructTag, rest: list[Any], request: cip.Request, budget: int) -> cip.Reply:
        body = request.body
        view = members.resolve(tag, rest)
        if isinstance(body, (logix.ReadTag, logix.ReadTagFragmented)):
            reply = members.read(view, request.service, body.elements, getattr(body, "offset", 0), budget)
            kind = "read"
        elif isinstance(body, (logix.WriteTag, logix.WriteTagFragmented)):
            reply = members.write(view, request.service, body)
            kind = "write"
        elif isinstance(body, logix.ReadModifyWrite):
            reply = members.read_modify_write(view, request.service, body)
            kind = "write"
        else:
            raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported on a structure")
        if self.on_access is not None:
            self.on_access(kind, tag, view.offset, view.offset + view.size, [])
        return reply

    def _serve_bit(self, tag: Attribute, rest: list[Any], bit: int, request: cip.Request) -> cip.Reply:
        """Read or write one bit of an integer tag's element, as a BOOL."""
        indices = [s.value for s in rest if isinstance(s, Logical) and s.kind == "element"]
        if len(indices) != len(rest) or tag.cip.fmt not in members.INTEGER_FORMATS \
                or bit >= (tag.cip.size or 0) * 8:
            raise Refusal(0x04, message=f"{tag.name}: no bit {bit} there")
        index = self._flatten(tag, indices) if indices else 0
        self._check_range(tag, index, 1)
        body = request.body
        value = tag[index]
        if isinstance(body, logix.ReadTag) and body.elements == 1:
            on = value >> bit & 1
            return cip.Reply(request.service | 0x80, body=logix.ReadTagReply(0xC1, b"\xff" if on else b"\x00"))
        if isinstance(body, logix.WriteTag) and body.elements == 1:
            if body.type != 0xC1 or not body.data:
                raise Refusal(GENERAL, (TYPE_MISMATCH,), f"{tag.name}: a bit is written as a BOOL")
            bits = (tag.cip.size or 0) * 8
            raw = value & ((1 << bits) - 1)
            raw = raw | (1 << bit) if body.data[0] else raw & ~(1 << bit)
            if tag.cip.fmt.islower() and raw >= 1 << (bits - 1):
                raw -= 1 << bits
            tag[index] = raw
            if self.on_access is not None:
                self.on_access("write", tag, index, index + 1, [raw])
            return cip.Reply(request.service | 0x80)
        raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported on a bit")

    def _read(self, attribute: Attribute, start: int, reply_service: int, elements: int, offset: int,
              budget: int, known: _KnownRead | None = None) -> Any:
        if elements < 1 or start + elements > len(attribute):
            self._check_range(attribute, start, elements)  # (refuses it)
        size = attribute.cip.size
        if not size:
            return self._read_strings(attribute, reply_service, start, elements, offset, budget)
        total = elements * size
        if offset >= total or offset % size:
            raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{attribute.name}: byte offset {offset} of {total}")
        room = max(size, (budget - _REPLY_HEAD - 2) // size * size)
        first = start + offset // size
        count = min(elements - offset // size, room // size)
        status = PARTIAL if offset + count * size < total else 0
        values = attribute[first:first + count]
        # (Deferred is an abstract class: isinstance costs a call of Python, so a list is known first)
        if values.__class__ is not list and isinstance(values, defer.Deferred):
            return values.addCallback(self._read_reply, attribute, first, count, reply_service, status, known)
        return self._read_reply(values, attribute, first, count, reply_service, status, known)

    def _read_reply(self, values: list, attribute: Attribute, first: int, count: int, reply_service: int,
                    status: int, known: _KnownRead | None = None) -> cip.Reply:
        """The reply to a read of *values* (read now, or late: an Attribute whose reads are slow); for a
        *known* read whose value bytes are those of its last reply, that reply."""
        if self.on_access is not None:
            self.on_access("read", attribute, first, first + count, values)
        data = attribute.cip.encode(values)
        if known is None:
            return cip.Reply(reply_service, status, (), body=logix.ReadTagReply(attribute.cip.code, data))
        reply = known.reply
        if reply is None or known.data != data or reply.status != status:
            reply = known.reply = cip.Reply(reply_service, status, (),
                                            body=logix.ReadTagReply(attribute.cip.code, data))
            known.data = data
        return reply

    def _read_strings(self, attribute: Attribute, reply_service: int, start: int, elements: int, offset: int,
                      budget: int) -> cip.Reply:
        """Variable-length elements (SSTRING): whole reads only, refused (0x11) if they do not fit."""
        if offset:
            raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{attribute.name}: no fragments of {attribute.cip.name}")
        values = attribute[start:start + elements]
        data = attribute.cip.encode(values)
        if len(data) + _REPLY_HEAD + 2 > budget:
            raise Refusal(0x11, message=f"{attribute.name}: {len(data)} bytes do not fit one reply")
        if self.on_access is not None:
            self.on_access("read", attribute, start, start + elements, values)
        return cip.Reply(reply_service, body=logix.ReadTagReply(attribute.cip.code, data))

    def _write(self, attribute: Attribute, start: int, reply_service: int, body: Any) -> Any:
        if body.type != attribute.cip.code or body.handle is not None:
            raise Refusal(GENERAL, (TYPE_MISMATCH,),
                           f"{attribute.name} is {attribute.cip.name}, not type 0x{body.type:02X}")
        self._check_range(attribute, start, body.elements)
        if not attribute.cip.size:  # variable-length elements (SSTRING): exactly the elements stated
            try:
                values = attribute.cip.decode(body.data, body.elements)
            except Exception:
                raise Refusal(NOT_ENOUGH, message=f"{attribute.name}: {body.elements} {attribute.cip.name}") from None
            used = len(attribute.cip.encode(values))
            if used < len(body.data) and not members.doubled(body.data, used, reply_service & 0x7F):
                raise Refusal(TOO_MUCH, message=f"{attribute.name}: data after {body.elements} {attribute.cip.name}")
            attribute[start:start + len(values)] = values
            if self.on_access is not None:
                self.on_access("write", attribute, start, start + len(values), values)
            return cip.Reply(reply_service)
        size = attribute.cip.size or 1
        offset = getattr(body, "offset", 0)
        if offset % size or offset >= body.elements * size:
            raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{attribute.name}: byte offset {offset}")
        room = body.elements * size - offset
        fragmented = isinstance(body, logix.WriteTagFragmented)
        data = body.data
        if not fragmented and len(data) > room and members.doubled(data, room, reply_service & 0x7F):
            data = data[:room]  # (pycomm3's doubled Write Tag: the first copy is the request)
        if len(data) % size:
            raise Refusal(NOT_ENOUGH, message=f"{attribute.name}: {len(data)} bytes is not whole elements")
        if len(data) > room:
            raise Refusal(TOO_MUCH, message=f"{attribute.name}: {len(data)} bytes for {room}")
        if len(data) < room and not fragmented:
            raise Refusal(NOT_ENOUGH, message=f"{attribute.name}: {len(data)} bytes for {room}")
        values = attribute.cip.decode(data)
        first = start + offset // size
        done = attribute.__setitem__(slice(first, first + len(values)), values)

        def reply(_: Any) -> cip.Reply:
            if self.on_access is not None:
                self.on_access("write", attribute, first, first + len(values), values)
            return cip.Reply(reply_service)
        if isinstance(done, defer.Deferred):
            return done.addCallback(reply)
        return reply(None)

    def _read_modify_write(self, attribute: Attribute, start: int, reply_service: int,
                           body: logix.ReadModifyWrite) -> Any:
        """The masks change the first n bytes of element *start* (n no larger than the element: a
        controller works on the bytes of the one element the path names, and refuses more with 0x03)."""
        size = attribute.cip.size or 0
        if attribute.cip.fmt not in members.INTEGER_FORMATS:
            raise Refusal(GENERAL, (TYPE_MISMATCH,),
                           f"{attribute.name}: no Read Modify Write of a {attribute.cip.name}")
        self._check_range(attribute, start, 1)
        members.mask_size(body, size, attribute.name)

        def modify(old: list) -> Any:
            values = attribute.cip.decode(members.masked(attribute.cip.encode(old), body))
            done = attribute.__setitem__(slice(start, start + 1), values)

            def reply(_: Any) -> cip.Reply:
                if self.on_access is not None:
                    self.on_access("write", attribute, start, start + 1, values)
                return cip.Reply(reply_service)
            if isinstance(done, defer.Deferred):
                return done.addCallback(reply)
            return reply(None)
        old = attribute[start:start + 1]
        if isinstance(old, defer.Deferred):  # an Attribute whose reads are slow: the reply waits
            return old.addCallback(modify)
        return modify(old)
