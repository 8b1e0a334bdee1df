"""EtherNet/IP and CIP code vocabulary: commands, item types, services, classes and statuses.

Why: every other codec module (encapsulation, CPF, message router, Logix tags) speaks in these
numbers, and logs and error messages need their names.  Keeping them in one place, as
``enum.IntEnum`` classes, means a value read off the wire compares equal to its enum member and a
member can be written straight into a ``struct.pack``.

One enum per concept.  Service codes at or above 0x4B are object specific, so several names share
a value (0x4C is Read Tag on a tag and Read Template on class 0x6C; 0x4E is Forward Close on the
Connection Manager and Read Modify Write on a tag; 0x52 is Unconnected Send and Read Tag
Fragmented): those names are aliases in :class:`Service`, and :func:`service_name` picks the right
one from the class the request was addressed to.

Statuses also carry their meaning for people (``GeneralStatus.PATH_SEGMENT_ERROR.meaning``):
:func:`explain` gives the line client tools, the web API and the server's logs show
(``0xFF/0x2105 beyond the end of the tag``), so the words for a code live beside the code.

Nothing here does I/O or keeps state; the tables are constants.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = [
    "Command", "EncapStatus", "ItemType", "Service", "ClassCode", "GeneralStatus",
    "LogixExtendedStatus", "ConnectionManagerStatus", "REPLY", "service_name", "describe",
    "describe_encap", "meaning", "explain",
]

#: The bit a CIP reply sets in the service code of the request it answers.
REPLY = 0x80


class Command(enum.IntEnum):
    """Encapsulation header commands (CIP Vol. 2, 2-3.2)."""

    NOP = 0x0000
    LIST_SERVICES = 0x0004
    LIST_IDENTITY = 0x0063
    LIST_INTERFACES = 0x0064
    REGISTER_SESSION = 0x0065
    UNREGISTER_SESSION = 0x0066
    SEND_RR_DATA = 0x006F
    SEND_UNIT_DATA = 0x0070


class EncapStatus(enum.IntEnum):
    """Encapsulation header status (CIP Vol. 2, 2-3.3)."""

    SUCCESS = 0x0000
    INVALID_COMMAND = 0x0001
    INSUFFICIENT_MEMORY = 0x0002
    INCORRECT_DATA = 0x0003
    INVALID_SESSION_HANDLE = 0x0064
    INVALID_LENGTH = 0x0065
    UNSUPPORTED_PROTOCOL_REVISION = 0x0069


class ItemType(enum.IntEnum):
    """Common Packet Format item type ids (CIP Vol. 2, 2-6)."""

    NULL_ADDRESS = 0x0000
    LIST_IDENTITY = 0x000C
    CONNECTED_ADDRESS = 0x00A1
    CONNECTED_DATA = 0x00B1
    UNCONNECTED_DATA = 0x00B2
    LIST_SERVICES = 0x0100
    SOCKADDR_O_T = 0x8000
    SOCKADDR_T_O = 0x8001
    SEQUENCED_ADDRESS = 0x8002


class Service(enum.IntEnum):
    """CIP service codes (request form; a reply carries ``code | REPLY``).

    Codes below 0x4B are common services; the rest are object specific and some share a value:
    ``READ_TEMPLATE`` is an alias of ``READ_TAG`` (0x4C), ``READ_MODIFY_WRITE`` of
    ``FORWARD_CLOSE`` (0x4E), ``READ_TAG_FRAGMENTED`` of ``UNCONNECTED_SEND`` (0x52).  Use
    :func:`service_name` to name a code in context.
    """

    GET_ATTRIBUTES_ALL = 0x01
    SET_ATTRIBUTES_ALL = 0x02
    GET_ATTRIBUTE_LIST = 0x03
    SET_ATTRIBUTE_LIST = 0x04
    RESET = 0x05
    START = 0x06
    STOP = 0x07
    CREATE = 0x08
    DELETE = 0x09
    MULTIPLE_SERVICE_PACKET = 0x0A
    APPLY_ATTRIBUTES = 0x0D
    GET_ATTRIBUTE_SINGLE = 0x0E
    SET_ATTRIBUTE_SINGLE = 0x10
    FIND_NEXT_OBJECT_INSTANCE = 0x11
    RESTORE = 0x15
    SAVE = 0x16
    NOP = 0x17
    GET_MEMBER = 0x18
    SET_MEMBER = 0x19
    INSERT_MEMBER = 0x1A
    REMOVE_MEMBER = 0x1B
    GROUP_SYNC = 0x1C
    # Logix tag services (addressed to a symbolic path or the Symbol class 0x6B)
    READ_TAG = 0x4C
    WRITE_TAG = 0x4D
    FORWARD_CLOSE = 0x4E
    UNCONNECTED_SEND = 0x52
    WRITE_TAG_FRAGMENTED = 0x53
    FORWARD_OPEN = 0x54
    GET_INSTANCE_ATTRIBUTE_LIST = 0x55
    GET_CONNECTION_DATA = 0x56
    SEARCH_CONNECTION_DATA = 0x57
    GET_CONNECTION_OWNER = 0x5A
    LARGE_FORWARD_OPEN = 0x5B
    # Aliases: same value, object-specific meaning (see service_name)
    READ_TEMPLATE = 0x4C
    READ_MODIFY_WRITE = 0x4E
    READ_TAG_FRAGMENTED = 0x52


class ClassCode(enum.IntEnum):
    """CIP object class ids (CIP Vol. 1, 5; Logix specifics from 1756-PM020)."""

    IDENTITY = 0x01
    MESSAGE_ROUTER = 0x02
    DEVICENET = 0x03
    ASSEMBLY = 0x04
    CONNECTION = 0x05
    CONNECTION_MANAGER = 0x06
    REGISTER = 0x07
    PARAMETER = 0x0F
    FILE = 0x37
    TIME_SYNC = 0x43
    MODBUS = 0x44
    PROGRAM_NAME = 0x64
    PCCC = 0x67
    SYMBOL = 0x6B
    TEMPLATE = 0x6C
    CONTROLLER_FAULT = 0x73
    WALL_CLOCK_TIME = 0x8B
    CONNECTION_CONFIGURATION = 0xF3
    PORT = 0xF4
    TCPIP = 0xF5
    ETHERNET_LINK = 0xF6


class _Status(enum.IntEnum):
    """A status code that also says what it means to a person (:attr:`meaning`).

    Why: a reply's numbers reach people (client errors, the web API, logs); the words for each
    code live beside the code.  A member is ``NAME = code`` (its meaning is its name in words)
    or ``NAME = code, "meaning"`` where the name alone would not tell a user what went wrong.
    """

    _meaning: str

    def __new__(cls, value: int, meaning: str = "") -> _Status:
        member = int.__new__(cls, value)
        member._value_ = value
        member._meaning = meaning
        return member

    @property
    def meaning(self) -> str:
        """What the code means, in words (``"beyond the end of the tag"``)."""
        return self._meaning or _label(self)


class GeneralStatus(_Status):
    """CIP general status codes (CIP Vol. 1, Appendix B)."""

    SUCCESS = 0x00
    CONNECTION_FAILURE = 0x01
    RESOURCE_UNAVAILABLE = 0x02
    INVALID_PARAMETER_VALUE = 0x03
    PATH_SEGMENT_ERROR = 0x04, "path segment error (no such tag or object)"
    PATH_DESTINATION_UNKNOWN = 0x05, "path destination unknown (no such object or instance)"
    PARTIAL_TRANSFER = 0x06, "partial transfer (more data follows)"
    CONNECTION_LOST = 0x07
    SERVICE_NOT_SUPPORTED = 0x08, "service not supported by the object addressed"
    INVALID_ATTRIBUTE_VALUE = 0x09
    ATTRIBUTE_LIST_ERROR = 0x0A
    ALREADY_IN_REQUESTED_MODE = 0x0B
    OBJECT_STATE_CONFLICT = 0x0C
    OBJECT_ALREADY_EXISTS = 0x0D
    ATTRIBUTE_NOT_SETTABLE = 0x0E, "attribute not settable (read only)"
    PRIVILEGE_VIOLATION = 0x0F, "privilege violation (access denied)"
    DEVICE_STATE_CONFLICT = 0x10
    REPLY_DATA_TOO_LARGE = 0x11, "reply data too large (read fewer elements, or fragmented)"
    FRAGMENTATION_OF_PRIMITIVE = 0x12
    NOT_ENOUGH_DATA = 0x13, "not enough data in the request"
    ATTRIBUTE_NOT_SUPPORTED = 0x14, "attribute not supported (no such attribute)"
    TOO_MUCH_DATA = 0x15, "too much data in the request"
    OBJECT_DOES_NOT_EXIST = 0x16, "object does not exist"
    SERVICE_FRAGMENTATION_SEQUENCE = 0x17
    NO_STORED_ATTRIBUTE_DATA = 0x18
    STORE_OPERATION_FAILURE = 0x19
    REQUEST_TOO_LARGE = 0x1A
    RESPONSE_TOO_LARGE = 0x1B
    MISSING_ATTRIBUTE_LIST_ENTRY = 0x1C
    INVALID_ATTRIBUTE_VALUE_LIST = 0x1D
    EMBEDDED_SERVICE_ERROR = 0x1E, "embedded service error (a request in the Multiple Service Packet failed)"
    VENDOR_SPECIFIC = 0x1F
    INVALID_PARAMETER = 0x20
    WRITE_ONCE_VALUE = 0x21
    INVALID_REPLY_RECEIVED = 0x22
    BUFFER_OVERFLOW = 0x23
    MESSAGE_FORMAT_ERROR = 0x24
    KEY_FAILURE_IN_PATH = 0x25
    PATH_SIZE_INVALID = 0x26
    UNEXPECTED_ATTRIBUTE_IN_LIST = 0x27
    INVALID_MEMBER_ID = 0x28
    MEMBER_NOT_SETTABLE = 0x29
    GENERAL_ERROR = 0xFF


class LogixExtendedStatus(_Status):
    """Extended status words a Logix controller adds to general status 0xFF (1756-PM020)."""

    OFFSET_BEYOND_TEMPLATE = 0x2104, "offset beyond the end of the tag's data"
    INDEX_OUT_OF_RANGE = 0x2105, "beyond the end of the tag"
    DATA_TYPE_MISMATCH = 0x2107, "data type mismatch (not the tag's type)"


class ConnectionManagerStatus(_Status):
    """Extended status words of general status 0x01, from the Connection Manager (CIP Vol. 1, 3-5.6)."""

    CONNECTION_IN_USE = 0x0100
    TRANSPORT_NOT_SUPPORTED = 0x0103
    OWNERSHIP_CONFLICT = 0x0106
    CONNECTION_NOT_FOUND = 0x0107
    INVALID_CONNECTION_TYPE = 0x0108
    INVALID_CONNECTION_SIZE = 0x0109
    DEVICE_NOT_CONFIGURED = 0x0110
    RPI_NOT_SUPPORTED = 0x0111
    OUT_OF_CONNECTIONS = 0x0113
    VENDOR_OR_PRODUCT_MISMATCH = 0x0114
    DEVICE_TYPE_MISMATCH = 0x0115
    REVISION_MISMATCH = 0x0116
    CONNECTION_TIMED_OUT = 0x0203
    UNCONNECTED_REQUEST_TIMED_OUT = 0x0204
    PARAMETER_ERROR = 0x0205
    MESSAGE_TOO_LARGE = 0x0206
    UNCONNECTED_ACK_WITHOUT_REPLY = 0x0207
    NO_BUFFER_MEMORY = 0x0301
    BANDWIDTH_NOT_AVAILABLE = 0x0302
    NO_SCREENERS_AVAILABLE = 0x0303
    PORT_NOT_AVAILABLE = 0x0311
    LINK_ADDRESS_NOT_VALID = 0x0312
    INVALID_SEGMENT_IN_PATH = 0x0315
    FORWARD_CLOSE_PATH_MISMATCH = 0x0316


#: Object-specific service names, by (class id, code); checked before the generic Service names.
_BY_CLASS: dict[tuple[int, int], str] = {
    (ClassCode.TEMPLATE, 0x4C): "READ_TEMPLATE",
    (ClassCode.CONNECTION_MANAGER, 0x4E): "FORWARD_CLOSE",
    (ClassCode.CONNECTION_MANAGER, 0x52): "UNCONNECTED_SEND",
}

#: Names of the shared object-specific codes when the class is not the Connection Manager or
#: Template class (i.e. a tag, addressed symbolically or through the Symbol class).
_ON_TAGS: dict[int, str] = {0x4E: "READ_MODIFY_WRITE", 0x52: "READ_TAG_FRAGMENTED"}

#: Which enum explains the extended status words of a general status.
_EXTENDED: dict[int, type[_Status]] = {
    GeneralStatus.CONNECTION_FAILURE: ConnectionManagerStatus,
    GeneralStatus.GENERAL_ERROR: LogixExtendedStatus,
}


def _label(member: enum.IntEnum) -> str:
    return member.name.lower().replace("_", " ")


def service_name(code: int, class_code: int | None = None) -> str:
    """Name a service code (request or reply), using the addressed class to resolve shared codes.

    ``class_code`` is the class the request addressed; pass ``ClassCode.SYMBOL`` for a tag
    addressed by name.  ``None`` (unknown) gives the canonical name of a shared code.
    ``service_name(0x4C)`` is ``"READ_TAG"``, ``service_name(0x4C, 0x6C)`` ``"READ_TEMPLATE"``,
    ``service_name(0xD2, ClassCode.SYMBOL)`` ``"READ_TAG_FRAGMENTED reply"``; unknown codes come
    back in hex.
    """
    reply = " reply" if code & REPLY else ""
    base = code & ~REPLY & 0xFF
    name = None
    if class_code is not None:
        name = _BY_CLASS.get((class_code, base))
        if name is None and class_code != ClassCode.CONNECTION_MANAGER:
            name = _ON_TAGS.get(base)
    if name is None:
        try:
            name = Service(base).name
        except ValueError:
            name = f"service 0x{base:02X}"
    return name + reply


def describe(general: int, extended: Iterable[int] = ()) -> str:
    """A human-readable text for a CIP general status and its extended status words.

    ``describe(0xFF, (0x2105,))`` gives ``"0xFF general error (extended 0x2105: index out of
    range)"``.  Unknown codes are shown in hex only.
    """
    try:
        text = f"0x{general:02X} {_label(GeneralStatus(general))}"
    except ValueError:
        text = f"0x{general:02X} unknown status"
    words = tuple(extended)
    if words:
        table = _EXTENDED.get(general)
        parts = []
        for word in words:
            try:
                parts.append(f"0x{word:04X}: {_label(table(word))}" if table else f"0x{word:04X}")
            except ValueError:
                parts.append(f"0x{word:04X}")
        text += f" (extended {', '.join(parts)})"
    return text


def describe_encap(status: int) -> str:
    """A human-readable text for an encapsulation header status, e.g. ``"0x0064 invalid session handle"``."""
    try:
        return f"0x{status:04X} {_label(EncapStatus(status))}"
    except ValueError:
        return f"0x{status:04X} unknown encapsulation status"


def _known(table: type[_Status] | None, code: int) -> _Status | None:
    try:
        return table(code) if table is not None else None
    except ValueError:
        return None


def meaning(general: int, extended: Iterable[int] = ()) -> str:
    """What a status means to a person: the first extended word known for *general*, else *general*'s meaning.

    ``meaning(0xFF, (0x2105,))`` is ``"beyond the end of the tag"``; an unknown code is
    ``"unknown status"``.
    """
    table = _EXTENDED.get(general)
    for word in extended:
        member = _known(table, word)
        if member is not None:
            return member.meaning
    member = _known(GeneralStatus, general)
    return member.meaning if member is not None else "unknown status"


def explain(general: int, extended: Iterable[int] = ()) -> str:
    """A status as a person reports it: its codes, then what it means.

    ``explain(0xFF, (0x2105,))`` is ``"0xFF/0x2105 beyond the end of the tag"``,
    ``explain(0x04)`` ``"0x04 path segment error (no such tag or object)"``.  Client error
    lines, the web API and the server's logs all say it this way.
    """
    words = tuple(extended)
    codes = "/".join([f"0x{general:02X}", *(f"0x{word:04X}" for word in words)])
    return f"{codes} {meaning(general, words)}"
