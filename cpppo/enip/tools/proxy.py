"""``get_attribute.proxy`` / ``proxy_simple``: named parameters of a CIP device, read as typed values.

Drives, I/O adapters and sensors have no tags: their data are numbered CIP
attributes, and an application wants "Output Frequency" in Hz, not
``@0x93/3/10`` and four raw bytes.  A proxy keeps one session to the device
(opened on first use, dropped on any error and reopened by the next call),
maps parameter names to ``(address, CIP type(s), units)`` in ``PARAMETERS``,
and reads them with Get Attribute Single / All (or Read Tag for untyped tags),
decoding the bytes as the given type(s).  ``proxy_simple`` sends plain
requests, for devices that do not route (no Unconnected Send).

    via = proxy_simple("10.0.0.5")
    with via:
        name, = via.read([("@1/1/7", "SSTRING")])      # -> ['PowerFlex 753']
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal

from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import attribute_operations, parse_operations
from cpppo.enip.codec import types
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.enip.simulator.controller.type_classes import TYPE_CLASSES

__all__ = ["proxy", "proxy_simple", "parameter", "decode_types"]

log = logging.getLogger(__name__)

parameter = collections.namedtuple("parameter", ["attribute", "types", "units"])


def _type(name: Any) -> types.CIPType:
    if isinstance(name, types.CIPType):
        return name
    try:
        return types.type_of(name.strip() if isinstance(name, str) else name)
    except LocalProtocolError as exc:
        raise ValueError(str(exc)) from None


def type_classes(kinds: Any) -> Any:
    """The original's type classes (``parser.REAL``, ...) for the type(s) a value was decoded by, as
    its ``read_details`` reports them; a type without a class stays as given."""
    if isinstance(kinds, (list, tuple)):
        return [type_classes(kind) for kind in kinds]
    try:
        return TYPE_CLASSES.get(_type(kinds).name, kinds)
    except (ValueError, KeyError, AttributeError):
        return kinds


def decode_types(data: bytes, kinds: Any) -> list:
    """Raw attribute bytes as values: one type decodes every element; a list of types decodes one
    value of each, in order (an Identity: INT, INT, INT, INT, INT, DINT, SSTRING, USINT), until
    the bytes run out.

    Raises:
        ValueError: the bytes do not hold the types.
    """
    try:
        if not isinstance(kinds, (list, tuple)):
            kind = _type(kinds)
            return kind.decode(data) if kind.size else [types.decode_string(data, kind)[0]]
        values, offset = [], 0
        for name in kinds:
            if offset >= len(data):  # the data ran out: the types left get no value, as in the original
                break
            kind = _type(name)
            if kind.size:
                values.extend(kind.decode(data, 1, offset))
                offset += kind.size
            else:
                text, offset = types.decode_string(data, kind, offset)
                values.append(text)
        return values
    except RemoteProtocolError as exc:
        raise ValueError(f"{len(data)} bytes do not hold {kinds!r}: {exc}") from None


class proxy:
    """Read (and write) a CIP device's attributes by address or by parameter name."""

    #: Parameter names to (address, type(s), units); subclasses for a device give their own.
    PARAMETERS: Mapping[str, parameter] = MappingProxyType({
        "product_name": parameter("@1/1/7", "SSTRING", None),
        # vendor, device type, product code, revision, status, serial, name: what Get Attributes All of
        # the Identity sends (both simulators, and a ControlLogix; the original's list adds a state USINT
        # these do not send)
        "identity": parameter("@1/1", ("INT", "INT", "INT", "INT", "INT", "DINT", "SSTRING"), "Identity"),
    })

    def __init__(self, host: str, port: int = 44818, timeout: float | None = None, depth: int | None = None,
                 multiple: int | None = None, route_path: Any = None, send_path: Any = None,
                 connected: bool = False, **kwds: Any) -> None:
        self.host, self.port = host, port or 44818
        self.timeout = 5.0 if timeout is None else timeout
        self.depth = depth or 0
        self.multiple = multiple or 0
        self.route_path, self.send_path = route_path, send_path
        self.connected = connected
        self.gateway: connector | None = None
        self.gateway_lock = threading.Lock()
        #: Held by one transaction (a read_details run) at a time: threads sharing a proxy (the
        #: original's poll_example_many) take turns on its one session, as the original's do.
        self.transaction_lock = threading.Lock()
        self.identity: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.host}:{self.port}>"

    # --- the session --------------------------------------------------------------------
    def open_gateway(self) -> connector:
        with self.gateway_lock:
            if self.gateway is None:
                self.gateway = connector(host=self.host, port=self.port, timeout=self.timeout,
                                         route_path=self.route_path, send_path=self.send_path,
                                         connected=self.connected)
            return self.gateway

    def close_gateway(self, exc: BaseException | None = None) -> None:
        """Drop the session (the next read opens a new one)."""
        with self.gateway_lock:
            gateway, self.gateway = self.gateway, None
        if gateway is not None:
            (log.warning if exc else log.info)("closed EtherNet/IP gateway %r: %s", self, exc or "done")
            gateway.close()

    def __enter__(self) -> proxy:
        self.open_gateway()
        return self

    def __exit__(self, typ: Any, val: Any, tbk: Any) -> Literal[False]:
        if typ is not None:
            self.close_gateway(val)
        return False

    def list_identity(self) -> Any:
        """The device's identity (the original's dotdict: ``product_name``, ``vendor_id``...)."""
        try:
            with self.transaction_lock:
                gateway = self.open_gateway()
                gateway.list_identity(timeout=self.timeout)
                reply = next(gateway)
            if reply is None:
                raise TimeoutError(f"no List Identity reply within {self.timeout:g} s")
            self.identity = reply.enip.CIP.list_identity.CPF.item[0].identity_object
        except Exception as exc:
            self.close_gateway(exc)
            raise
        return self.identity

    # --- parameters -------------------------------------------------------------------
    def parameter_substitution(self, iterable: Any, parameters: Mapping | None = None,
                               pass_thru: bool | None = None) -> Iterator[Any]:
        """Parameter names (``" Output Freq "`` -> ``PARAMETERS['output_freq']``, ``=value`` kept)
        become ``(address, types)``; anything else passes through (unless *pass_thru* is False)."""
        if isinstance(iterable, str):
            iterable = [iterable]
        parameters = self.PARAMETERS if parameters is None else parameters
        for item in iterable:
            if isinstance(item, str):
                name, eq, value = item.partition("=")
                key = name.strip().lower().replace(" ", "_")
                if key in parameters:
                    address, kinds, _ = parameters[key]
                    item = (address + (eq + value if eq else ""), kinds)
                elif pass_thru is False:
                    raise ValueError(f"unknown parameter {item!r}")
            yield item

    @staticmethod
    def is_request(item: Any) -> bool:
        """A tag/address string, or ``(address, type(s)[, units])``."""
        if isinstance(item, str):
            return True
        return (isinstance(item, (list, tuple)) and 2 <= len(item) <= 3 and isinstance(item[0], str)
                and (item[1] is None or isinstance(item[1], (str, int, types.CIPType, list, tuple))))

    def _operations(self, attributes: Iterable[Any]) -> tuple[list[dict], list[tuple]]:
        operations, details = [], []
        for item in attributes:
            if not self.is_request(item):
                raise ValueError(f"not a read/write target: {item!r}")
            address, kinds, units = (item, None, None) if isinstance(item, str) else (tuple(item) + (None,))[:3]
            parse = parse_operations if kinds is None else attribute_operations
            try:
                (op,) = list(parse([address]))
            except ValueError:
                if kinds is not None or address.startswith("@"):
                    raise
                # Not a Logix tag name (eg. "blah de blah"): asked for all the same, as the original
                # does; the controller's refusal is its failed value (None), the other reads go on.
                op = {"path": [{"symbolic": address.strip()}]}
            if kinds is not None and not isinstance(kinds, (list, tuple)) and "tag_type" not in op:
                op["tag_type"] = _type(kinds).code   # sizes the reply, for Multiple Service Packets
            operations.append(op)
            details.append((address, kinds, units))
        return operations, details

    def read_details(self, attributes: Any) -> Iterator[tuple]:
        """Yield ``(value, (status, (address, types, units)))`` per attribute: the value a list
        (decoded by the types given, or the tag's own type), True for a write, None on failure;
        the types are the original's classes (``parser.INT``) for a value read."""
        if isinstance(attributes, str):
            attributes = [attributes]
        operations, details = self._operations(attributes)
        with self.transaction_lock:
            gateway = self.open_gateway()
            results = gateway.pipeline(operations, depth=self.depth, multiple=self.multiple, timeout=self.timeout)
            for (_idx, _dsc, _req, rpy, sts, val), (address, kinds, units) in zip(results, details):
                if kinds is not None and isinstance(val, list) and sts in (0, 6):
                    val = decode_types(bytes(v & 0xFF for v in val), kinds)
                    kinds = type_classes(kinds)
                elif kinds is None and isinstance(rpy, Mapping):  # a Read Tag's own type, as the original
                    code = rpy.get("read_tag.type") or rpy.get("read_frag.type")
                    kinds = type_classes(code) if code else None
                yield val, (sts, (address, kinds, units))

    def read(self, attributes: Any, printing: bool = False, checking: bool = False) -> Iterator[Any]:
        """Yield each value (None for a failed one); with *checking*, raise at the end if any failed.
        Any exception drops the session."""
        bad = []
        try:
            for val, (sts, (address, _kinds, units)) in self.read_details(attributes):
                if printing:
                    shown = val if val in (None, True) else ", ".join(map(str, val))
                    print(f"{address:>16} == {shown} {units or ''}")
                if sts not in (0, 6):
                    bad.append(f"{address}: status {sts!r}")
                yield val
        except Exception as exc:
            self.close_gateway(exc)
            raise
        if checking and bad:
            raise RuntimeError(f"read failed to access {len(bad)} attributes: {', '.join(bad)}")

    write = read


class proxy_simple(proxy):
    """A proxy for a simple device that does not route: plain requests, no Unconnected Send."""

    def __init__(self, host: str, route_path: Any = None, send_path: Any = None, **kwds: Any) -> None:
        super().__init__(host, route_path=False if route_path is None else route_path,
                         send_path="" if send_path is None else send_path, **kwds)
