"""Tags at a CIP address: ``speed@0x93/1/10=REAL`` is also attribute 10 of instance 1 of class 0x93.

Why: the original cpppo lets a tag name a class/instance/attribute, so the
simulator can stand in for a drive or another non-Logix device that clients
reach by number, not by name.  Such a tag is one :class:`~.device.Attribute`
seen two ways: by name (Read/Write Tag, as every tag) and by number:

- Get / Set Attribute Single (0x0E / 0x10) at ``@class/instance/attribute``;
- Get / Set Attributes All (0x01 / 0x02) at ``@class/instance``: every
  attribute of that instance, concatenated in attribute-number order.

:func:`parse_cip_address` reads the ``@...`` text, :class:`AddressedObject`
holds the attributes of one instance, and :func:`attach` puts an Attribute at
its address in a service's :class:`~.device.Directory` (the caller adds the
tag itself, with ``service.tags.add(attribute)``).

Unlike the original, two tags may not share one address (a tag table maps one
name to one Attribute), and addresses of the simulator's own objects
(Identity @1/1, the Message Router, ...) and of the classes whose services it
answers itself (Symbol 0x6B, Template 0x6C) are refused: see
:data:`RESERVED`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from cpppo.enip.codec import cip
from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller.device import TAG_SERVICES, Attribute, Object, Refusal, as_tag_request

__all__ = ["parse_cip_address", "format_cip_address", "AddressedObject", "attach", "RESERVED",
           "RESERVED_CLASSES", "SET_ATTRIBUTES_ALL"]

SET_ATTRIBUTES_ALL = 0x02
NOT_ENOUGH_DATA, TOO_MUCH_DATA = 0x13, 0x15

#: Classes whose every instance the simulator answers itself: Message Router (Multiple Service
#: Packet), Connection Manager (Forward Open, Unconnected Send), Symbol and Template (browsing).
RESERVED_CLASSES = frozenset({0x02, 0x06, 0x6B, 0x6C})
#: The (class, instance) of every object an EnipService creates for itself.
RESERVED = frozenset({(0x01, 1), (0x02, 1), (0x06, 1), (0x64, 1), (0x73, 1), (0x8B, 1), (0xF5, 1), (0xF6, 1)})

_LIMITS = (("class", 0xFFFF), ("instance", 0xFFFFFFFF), ("attribute", 0xFFFF))


def _number(text: str, what: str, address: str) -> int:
    term = text.strip()
    try:
        return int(term, 0) if term[:2].lower() in ("0x", "0o", "0b") else int(term, 10)
    except ValueError:
        raise ValueError(f"address {address!r}: {what} {text!r} is not a number (decimal, or 0x hex)") from None


def parse_cip_address(text: str) -> tuple[int, int, int]:
    """``[@]CLASS/INSTANCE/ATTRIBUTE`` (decimal, or 0x/0o/0b) as ``(class, instance, attribute)``.

    Raises ValueError for anything else: a missing or extra term (an element is not
    supported), a number out of range or zero, or a reserved address (see :data:`RESERVED`).
    """
    body = text.strip()
    body = body[1:] if body.startswith("@") else body
    terms = body.split("/")
    if len(terms) != 3 or "[" in body:
        raise ValueError(f"address {text!r} is not @CLASS/INSTANCE/ATTRIBUTE (eg. @0x93/1/10)")
    numbers = []
    for term, (what, limit) in zip(terms, _LIMITS):
        number = _number(term, what, text)
        if not 1 <= number <= limit:
            raise ValueError(f"address {text!r}: {what} {number} is not 1 to {limit}")
        numbers.append(number)
    class_id, instance_id, attribute_id = numbers
    if class_id in RESERVED_CLASSES or (class_id, instance_id) in RESERVED:
        raise ValueError(f"address {text!r}: @0x{class_id:02X}/{instance_id} is one of the simulator's own"
                         f" objects; choose another (eg. a vendor-specific class: 0x65-0xC7, 0x300-0x4FF)")
    return class_id, instance_id, attribute_id


def format_cip_address(class_id: int, instance_id: int, attribute_id: int | None = None) -> str:
    """``@0x93/1/10``: the inverse of :func:`parse_cip_address`, for logs and messages."""
    text = f"@0x{class_id:02X}/{instance_id}"
    return text if attribute_id is None else f"{text}/{attribute_id}"


class AddressedObject(Object):
    """One instance of a class of the user's: the attributes tags put there, all settable.

    Attributes may be added until the service runs; an Attribute's forced
    ``error`` (``service.set_error``) fails its access by address too.  *on_access*
    (the service's ``tags.on_access``) is told of reads and writes, as for tags.
    ``serve(request)`` answers Set Attributes All (0x02).
    """

    def __init__(self, class_id: int, instance_id: int = 1,
                 on_access: Callable[..., None] | None = None, tags: Any = None) -> None:
        super().__init__(instance_id)
        self.class_id = class_id
        self.on_access = on_access
        self.tags = tags  # the service's Tags: the tag services by number are the tag's by name

    def add(self, number: int, attribute: Attribute) -> Attribute:
        """Put *attribute* at attribute *number* (ValueError if another is there already)."""
        present = self.attributes.get(number)
        if present is not None and present is not attribute:
            raise ValueError(f"{format_cip_address(self.class_id, self.instance_id, number)} already holds"
                             f" {present.name!r}")
        self.attributes[number] = attribute
        self.settable.add(number)
        return attribute

    def attribute(self, number: int) -> Attribute:
        attribute = super().attribute(number)
        if attribute.error:
            raise Refusal(attribute.error, message=f"{attribute.name} forced to fail")
        return attribute

    def _told(self, kind: str, attribute: Attribute, values: Any) -> None:
        if self.on_access is not None:
            self.on_access(kind, attribute, 0, len(attribute), values if isinstance(values, list) else [values])

    def encode(self, attribute: Attribute) -> Any:
        """An attribute's bytes (or a Deferred of them), reporting the read."""
        value = attribute[0:len(attribute)]

        def done(values: Any) -> bytes:
            self._told("read", attribute, values)
            return attribute.cip.encode(values)
        if isinstance(value, defer.Deferred):
            return value.addCallback(done)
        return done(value)

    def _write(self, attribute: Attribute, values: list) -> Any:
        result = attribute.__setitem__(slice(0, len(attribute)), values)

        def done(_: Any) -> bytes:
            self._told("write", attribute, values)
            return b""
        if isinstance(result, defer.Deferred):
            return result.addCallback(done)
        return done(None)

    def _decode(self, attribute: Attribute, data: bytes) -> list:
        size = (attribute.cip.size or 0) * len(attribute)
        if not size:
            raise Refusal(0x08, message=f"{attribute.name}: {attribute.cip.name} has no fixed size")
        if len(data) != size:
            raise Refusal(NOT_ENOUGH_DATA if len(data) < size else TOO_MUCH_DATA,
                           message=f"{attribute.name}: {len(data)} bytes for {size}")
        try:
            return attribute.cip.decode(data)
        except Exception:
            raise Refusal(0x09, message=f"{attribute.name}: bad value {data.hex()}") from None

    def set_attribute_single(self, number: int, data: bytes) -> Any:
        attribute = self.attribute(number)
        return self._write(attribute, self._decode(attribute, data))

    def set_attributes_all(self, data: bytes) -> Any:
        """Every attribute from *data*, in number order; nothing is written unless all of it fits."""
        numbers = sorted(self.attributes)
        attributes = [self.attribute(n) for n in numbers]
        sizes = [(a.cip.size or 0) * len(a) for a in attributes]
        if not all(sizes):
            raise Refusal(0x08, message=f"{self}: an attribute has no fixed size")
        total = sum(sizes)
        if len(data) != total:
            raise Refusal(NOT_ENOUGH_DATA if len(data) < total else TOO_MUCH_DATA,
                           message=f"{self}: {len(data)} bytes for {total}")
        at, decoded = 0, []
        for attribute, size in zip(attributes, sizes):
            decoded.append(self._decode(attribute, data[at:at + size]))
            at += size
        results = [self._write(a, values) for a, values in zip(attributes, decoded)]
        if any(isinstance(r, defer.Deferred) for r in results):
            return defer.gatherResults([r if isinstance(r, defer.Deferred) else defer.succeed(r) for r in results],
                                       consumeErrors=True).addCallback(lambda _: b"")
        return b""

    def serve(self, request: cip.Request) -> Any:
        """Set Attributes All (0x02), and the tag services at ``@class/instance/attribute`` (as the
        original's Read Tag ``@0x93/1/10``): a reply (or a Deferred of one); Refusal(0x08) for others."""
        if request.service in TAG_SERVICES and self.tags is not None:
            number = next((s.value for s in request.path if getattr(s, "kind", None) == "attribute"), None)
            if number is None:
                raise Refusal(0x08, message=f"service 0x{request.service:02X} on {self} needs an attribute")
            return self.tags.serve(as_tag_request(request, self.attribute(number).name))
        if request.service != SET_ATTRIBUTES_ALL:
            raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported by {self}")
        done = self.set_attributes_all(request.payload())
        reply = cip.Reply(request.service | 0x80)
        if isinstance(done, defer.Deferred):
            return done.addCallback(lambda _: reply)
        return reply


def attach(service: Any, name: str, class_id: int, instance_id: int, attribute_id: int,
           attribute: Attribute) -> AddressedObject:
    """Make *attribute* (the tag *name*) attribute *attribute_id* of ``@class_id/instance_id`` in
    *service*'s directory, creating that :class:`AddressedObject` or adding to it; returns it.

    ValueError if the address is taken by another attribute or by one of the service's own objects,
    or if *attribute* is not of an elementary type of fixed size (a structure, a STRING).
    The caller adds the tag: ``service.tags.add(attribute)``.
    """
    where = format_cip_address(class_id, instance_id, attribute_id)
    if not attribute.cip.size or attribute.cip.code not in cip_types.TYPES_BY_CODE:
        raise ValueError(f"tag {name!r}: {where}: a tag at a CIP address is of an elementary type"
                         f" (BOOL, SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, REAL, LREAL, DWORD),"
                         f" not {attribute.cip.name}")
    if class_id in RESERVED_CLASSES:
        raise ValueError(f"tag {name!r}: {where}: class 0x{class_id:02X} is served by the simulator itself")
    try:
        obj = service.directory.lookup(class_id, instance_id)
    except Refusal:
        obj = service.directory.add(AddressedObject(class_id, instance_id, on_access=service.tags.on_access,
                                                    tags=service.tags))
    if not isinstance(obj, AddressedObject):
        raise ValueError(f"tag {name!r}: {where} is the simulator's {type(obj).__name__} object")
    try:
        obj.add(attribute_id, attribute)
    except ValueError as error:
        raise ValueError(f"tag {name!r}: {error}") from None
    attribute.cip_address = (class_id, instance_id, attribute_id)  # (not also one of the tags at @2/1/N)
    return obj
