"""The simulated device's CIP objects: ``Attribute``, ``Object``, and the objects every device has.

An :class:`Attribute` holds a value (a scalar or an array of one CIP type) and
is where reads and writes land: tags are Attributes too, so subclassing it
(the original's documented way to customise the simulator: record history,
serve live data) sees every Read/Write Tag [Fragmented] and Get/Set
Attribute.  Its ``__getitem__`` may return a Deferred, and the reply waits.

An :class:`Object` is a CIP object instance: numbered attributes, and the
generic services on them (Get Attribute Single / All, Set Attribute Single).
A :class:`Directory` (one per running service: no module-level registry)
maps class and instance ids to objects.  Identity, Message Router, Connection
Manager, TCP/IP Interface and Ethernet Link are provided with the attributes
clients read.
"""

from __future__ import annotations

import configparser
import dataclasses
import socket
import struct
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, TypeVar

from twisted.internet import defer

from cpppo.enip.codec import epath
from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller import type_classes as parser

__all__ = ["Attribute", "Object", "Directory", "Identity", "MessageRouter", "ConnectionManager", "TCPIP",
           "EthernetLink", "Refusal", "CIPError", "ElementOutOfRange", "resolve_type", "TAG_SERVICES",
           "as_tag_request"]

_O = TypeVar("_O", bound="Object")


class Refusal(Exception):
    """The controller refuses a request with this CIP general status (and extended status words).

    The simulator's error type, raised anywhere below the router and answered as an
    error reply; the client's is :class:`cpppo.enip.client.deferred.CIPError`.
    ``device.CIPError`` is this class's old name, kept for scripts.
    """

    def __init__(self, status: int, extended: Iterable[int] = (), message: str = "") -> None:
        super().__init__(message or f"CIP status 0x{status:02X}")
        self.status = status
        self.extended = tuple(extended)


#: The old name (scripts raise and catch ``device.CIPError``).
CIPError = Refusal


class ElementOutOfRange(Refusal, KeyError):
    """Elements outside an Attribute: 0xFF with extended status 0x2105, as a Logix answers.

    A KeyError too, as ``attribute[i]`` has always raised for scripts; the router only
    ever sees the Refusal.
    """

    def __init__(self, message: str) -> None:
        Refusal.__init__(self, 0xFF, (0x2105,), message)

    def __str__(self) -> str:
        return Exception.__str__(self)


def resolve_type(type_cls: Any) -> cip_types.CIPType:
    """A CIPType from a parser class, a parser instance, a CIPType or a type name."""
    if isinstance(type_cls, cip_types.CIPType):
        return type_cls
    if isinstance(type_cls, str):
        return cip_types.type_of(type_cls)
    if isinstance(type_cls, type) and issubclass(type_cls, parser.TYPE):
        return type_cls.cip
    if isinstance(type_cls, parser.TYPE):
        return type_cls.cip
    raise TypeError(f"not a CIP type: {type_cls!r}")


class Attribute:
    """A named value of one CIP type: a scalar, or an array when *default* is a list.

    ``attr[i]`` and ``attr[a:b]`` read, ``attr[i] = v`` and ``attr[a:b] = [...]`` write;
    ``len(attr)`` is the element count.  ``error`` (a CIP status) makes every
    access fail with it, until set back to 0.
    """

    #: ``(class, instance, attribute)`` where a tag is also served by number (``NAME@CLASS/INSTANCE/ATTRIBUTE``).
    cip_address: tuple[int, int, int] | None = None

    def __init__(self, name: str, type_cls: Any = parser.INT, default: Any = 0, error: int = 0x00,
                 mask: int = 0) -> None:
        self.name = name
        self.cip = resolve_type(type_cls)
        parser_cls = parser.TYPE_CLASSES.get(self.cip.name)
        self.parser = parser_cls() if parser_cls is not None else None
        self.scalar = isinstance(default, (str, bytes)) or not hasattr(default, "__len__")
        self.value: Any = default if self.scalar else list(default)  # a scalar, or a list of elements
        self.error = error
        self.mask = mask

    def __len__(self) -> int:
        return 1 if self.scalar else len(self.value)

    def __repr__(self) -> str:
        shape = "" if self.scalar else f"[{len(self)}]"
        return f"<{type(self).__name__} {self.name} {self.cip.name}{shape}>"

    def _validate_key(self, key: int | slice) -> type:
        size = len(self)
        if isinstance(key, slice):
            start, stop, stride = key.indices(size)
            if stride == 1 and start < stop <= size and key.stop in (stop, None):
                return slice
            raise ElementOutOfRange(f"{self.name}: elements {key.start}..{key.stop} outside its {size}")
        if not isinstance(key, int) or not 0 <= key < size:
            raise ElementOutOfRange(f"{self.name}: element {key!r} outside its {size}")
        return int

    def __getitem__(self, key: int | slice) -> Any:
        if self._validate_key(key) is slice:
            return [self.value] if self.scalar else self.value[key]
        return self.value if self.scalar else self.value[key]

    def __setitem__(self, key: int | slice, value: Any) -> defer.Deferred[Any] | None:
        """Store *value*; None, or (in a subclass whose writes are slow) a Deferred the reply waits on."""
        if self._validate_key(key) is slice:
            if self.scalar:
                self.value = list(value)[0]
            else:
                self.value[key] = list(value)
            return None
        if self.scalar:
            self.value = value
        else:
            self.value[key] = value
        return None

    def produce(self, start: int = 0, stop: int | None = None) -> bytes:
        """The bytes of elements ``start:stop`` (only for Attributes whose reads are immediate)."""
        values = self[start:len(self) if stop is None else stop]
        return self.cip.encode(values)


class Object:
    """A CIP object instance: attributes by number, and the generic attribute services."""

    class_id = 0
    #: The original's configuration reader shared by all objects (its scripts read their own
    #: sections with it: ``Object.config_loader.read(config_files)``); one of the original's
    #: module-level names, kept as it had it.
    config_loader: ClassVar[configparser.ConfigParser] = configparser.ConfigParser(
        comment_prefixes=("#",), inline_comment_prefixes=("#",), allow_no_value=True,
        empty_lines_in_values=False, interpolation=configparser.ExtendedInterpolation())
    #: The attributes Get Attributes All returns, in order (default: all, by number).
    all_attributes: tuple[int, ...] | None = None

    def __init__(self, instance_id: int = 1, attributes: dict[int, Attribute] | None = None,
                 settable: Iterable[int] = ()) -> None:
        self.instance_id = instance_id
        self.attributes: dict[int, Attribute] = dict(attributes or {})
        self.settable = set(settable)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} @{self.class_id}/{self.instance_id}>"

    def attribute(self, number: int) -> Attribute:
        try:
            return self.attributes[number]
        except KeyError:
            raise Refusal(0x14, message=f"{self} has no attribute {number}") from None

    def encode(self, attribute: Attribute) -> Any:
        """An attribute's value bytes, or a Deferred of them (its reads may be slow)."""
        value = attribute[0:len(attribute)]
        if isinstance(value, defer.Deferred):
            return value.addCallback(attribute.cip.encode)
        return attribute.cip.encode(value)

    def get_attribute_single(self, number: int) -> Any:
        return self.encode(self.attribute(number))

    def get_attributes_all(self) -> Any:
        numbers = self.all_attributes if self.all_attributes is not None else sorted(self.attributes)
        parts = [self.encode(self.attribute(n)) for n in numbers if n in self.attributes]
        if any(isinstance(p, defer.Deferred) for p in parts):
            return defer.gatherResults([p if isinstance(p, defer.Deferred) else defer.succeed(p) for p in parts],
                                       consumeErrors=True).addCallback(b"".join)
        return b"".join(parts)

    def set_attribute_single(self, number: int, data: bytes) -> Any:
        attribute = self.attribute(number)
        if number not in self.settable:
            raise Refusal(0x0E, message=f"{self} attribute {number} is not settable")
        try:
            values = attribute.cip.decode(data)
        except Exception:
            raise Refusal(0x13 if len(data) < (attribute.cip.size or 1) * len(attribute) else 0x09) from None
        if len(values) != len(attribute):
            raise Refusal(0x13 if len(values) < len(attribute) else 0x15)
        attribute[0:len(attribute)] = values
        return b""


class Directory:
    """The objects of one device, by class and instance id."""

    def __init__(self) -> None:
        self._objects: dict[int, dict[int, Object]] = {}

    def add(self, obj: _O) -> _O:
        self._objects.setdefault(obj.class_id, {})[obj.instance_id] = obj
        return obj

    def lookup(self, class_id: int, instance_id: int) -> Object:
        """The object at ``@class/instance``; instance 0 of a class that has instances is the class
        itself (its Revision, Max Instance and Num Instances, as the original and a Logix serve)."""
        instances = self._objects.get(class_id)
        if instances is None or instance_id not in instances:
            if instance_id == 0 and instances:
                return ClassInstance(class_id, instances)
            raise Refusal(0x05, message=f"no object @{class_id}/{instance_id}")
        return instances[instance_id]

    def classes(self) -> list[int]:
        return sorted(self._objects)

    def __iter__(self) -> Iterator[Object]:
        for instances in self._objects.values():
            yield from instances.values()


class ClassInstance(Object):
    """Instance 0 of a class: the class-level attributes, counted from its instances when asked."""

    def __init__(self, class_id: int, instances: dict[int, Object]) -> None:
        super().__init__(0, {
            1: Attribute("Revision", cip_types.INT, getattr(instances[min(instances)], "class_revision", 0)),
            2: Attribute("Max Instance", cip_types.INT, max(instances)),
            3: Attribute("Num Instances", cip_types.INT, len(instances)),
            4: Attribute("Optional Attributes", cip_types.INT, 0),
        })
        self.class_id = class_id


def _sstring(text: str) -> Attribute:
    return Attribute("name", cip_types.SSTRING, text)


class Identity(Object):
    """Identity (class 1): who the device says it is."""

    class_id = 0x01
    all_attributes = (1, 2, 3, 4, 5, 6, 7)

    def __init__(self, instance_id: int = 1, vendor: int = 1, device_type: int = 0x0E, product_code: int = 54,
                 revision: tuple[int, int] = (20, 11), status: int = 0x3160, serial: int = 0x006C061A,
                 product_name: str = "1756-L61/B LOGIX5561", state: int = 3) -> None:
        super().__init__(instance_id, {
            1: Attribute("Vendor Number", cip_types.UINT, vendor),
            2: Attribute("Device Type", cip_types.UINT, device_type),
            3: Attribute("Product Code Number", cip_types.UINT, product_code),
            4: Attribute("Product Revision", cip_types.USINT, list(revision)),
            5: Attribute("Status Word", cip_types.WORD, status),
            6: Attribute("Serial Number", cip_types.UDINT, serial),
            7: _sstring(product_name),
            8: Attribute("State", cip_types.USINT, state),
        })

    @property
    def product_name(self) -> str:
        return self.attributes[7].value


#: Read/Write Tag [Fragmented] and Read Modify Write: the services a tag answers.
TAG_SERVICES = frozenset({0x4C, 0x4D, 0x52, 0x53, 0x4E})


def as_tag_request(request: Any, name: str) -> Any:
    """*request*, addressed by number (``@class/instance/attribute``), as the same request to the
    tag *name* (any segments after the attribute kept): the tags then answer it as any other.

    Why: the original cpppo serves Read/Write Tag [Fragmented] on a numeric path too (its
    ``io_example`` reads ``@0x2/1/1``), so one tag answers by name and by number alike.
    """
    path = list(request.path)
    at = next((i for i, s in enumerate(path) if isinstance(s, epath.Logical) and s.kind == "attribute"), len(path))
    symbolic = tuple(epath.Symbolic(part) for part in name.split("."))
    return dataclasses.replace(request, path=symbolic + tuple(path[at + 1:]))


class MessageRouter(Object):
    """Message Router (class 2): the object list attribute, and the Multiple Service Packet target.

    Its instance 1 also answers the tag services at ``@2/1/N``: the Nth tag made (those at a
    CIP address of their own not counted), which is where the original cpppo's Logix Message
    Router keeps its tags; Get Attribute Single ``@2/1/1`` stays a ControlLogix's object list.
    """

    class_id = 0x02

    def __init__(self, directory: Directory, instance_id: int = 1, tags: Any = None) -> None:
        super().__init__(instance_id)
        self.directory = directory
        self.tags = tags  # the controller's Tags (set by the Controller), for the tag services at @2/1/N

    def numbered_tag(self, number: int) -> Attribute:
        """The tag at attribute *number* (from 1); Refusal 0x14 (attribute not supported) if none."""
        numbered = [tag for tag in (self.tags or ()) if getattr(tag, "cip_address", None) is None]
        if not 1 <= number <= len(numbered):
            raise Refusal(0x14, message=f"no tag at @2/{self.instance_id}/{number} ({len(numbered)} tags)")
        return numbered[number - 1]

    def serve(self, request: Any) -> Any:
        """The tag services on ``@2/1/N`` (the Nth tag); Refusal 0x08 for any other service."""
        attribute = next((s.value for s in request.path if isinstance(s, epath.Logical) and s.kind == "attribute"),
                         None)
        if request.service not in TAG_SERVICES or attribute is None or self.tags is None:
            raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported by {self}")
        return self.tags.serve(as_tag_request(request, self.numbered_tag(attribute).name))

    def get_attribute_single(self, number: int) -> Any:
        if number == 1:
            classes = self.directory.classes()
            return struct.pack(f"<H{len(classes)}H", len(classes), *classes)
        if number == 2:
            return struct.pack("<H", 1)
        raise Refusal(0x14)

    def get_attributes_all(self) -> Any:
        return self.get_attribute_single(1) + self.get_attribute_single(2)


class ConnectionManager(Object):
    """Connection Manager (class 6): the routing services live in the service; here, its counters."""

    class_id = 0x06

    def __init__(self, instance_id: int = 1) -> None:
        super().__init__(instance_id, {n: Attribute(f"counter {n}", cip_types.UINT, 0) for n in range(1, 9)})


class TCPIP(Object):
    """TCP/IP Interface (class 0xF5): status, capabilities, the link path, IP configuration, host name."""

    class_id = 0xF5

    def __init__(self, instance_id: int = 1, address: str = "0.0.0.0", netmask: str = "255.255.255.0",
                 gateway: str = "0.0.0.0", host_name: str = "controller", domain: str = "") -> None:
        super().__init__(instance_id, {
            1: Attribute("Interface Status", cip_types.DWORD, 2),
            2: Attribute("Configuration Capability", cip_types.DWORD, 0x30),
            3: Attribute("Configuration Control", cip_types.DWORD, 0),
        }, settable=(3,))
        self.address, self.netmask, self.gateway = address, netmask, gateway
        self.host_name, self.domain = host_name, domain

    def _link_path(self) -> bytes:
        path = epath.encode_path((epath.Logical("class", 0xF6), epath.Logical("instance", 1)))
        return struct.pack("<H", len(path) // 2) + path

    def _configuration(self) -> bytes:
        addresses = [struct.unpack("<I", socket.inet_aton(a))[0]
                     for a in (self.address, self.netmask, self.gateway, "0.0.0.0", "0.0.0.0")]
        return struct.pack("<5I", *addresses) + cip_types.encode_string(self.domain, cip_types.STRING)

    def get_attribute_single(self, number: int) -> Any:
        if number == 4:
            return self._link_path()
        if number == 5:
            return self._configuration()
        if number == 6:
            return cip_types.encode_string(self.host_name, cip_types.STRING)
        return super().get_attribute_single(number)

    def get_attributes_all(self) -> Any:
        return b"".join(self.get_attribute_single(n) for n in range(1, 7))


class EthernetLink(Object):
    """Ethernet Link (class 0xF6): speed, flags, physical address."""

    class_id = 0xF6

    def __init__(self, instance_id: int = 1, speed: int = 100, flags: int = 0x0F,
                 mac: bytes = b"\x00\x1d\x9c\x00\x00\x01") -> None:
        super().__init__(instance_id, {
            1: Attribute("Interface Speed", cip_types.UDINT, speed),
            2: Attribute("Interface Flags", cip_types.DWORD, flags),
            3: Attribute("Physical Address", cip_types.USINT, list(mac)),
        })
