"""The Message Router's request and reply: the envelope every CIP service travels in.

Why a module of their own: the Message Router's services (:mod:`~cpppo.enip.codec.cip`) and the
Connection Manager's (:mod:`~cpppo.enip.codec.connection_manager`, whose Unconnected Send embeds a
whole request) both need these records, and :mod:`~cpppo.enip.codec.cip` dispatches to the
Connection Manager's decoders; here, below both, neither imports the other back.  Both are
importable from :mod:`~cpppo.enip.codec.cip`, where they have always been.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec.epath import encode_path
from cpppo.enip.codec.errors import LocalProtocolError

__all__ = ["Request", "Reply"]


@dataclass(frozen=True, slots=True)
class Request:
    """A Message Router request: ``service``, ``path`` (EPATH segments) and its data.

    The service data is either ``body`` (a decoded record: an UnconnectedSend, a
    tag_services.ReadTag, ...) or, where it is opaque, ``data`` (bytes); ``payload()``
    gives the bytes either way.
    """

    service: int
    path: tuple[Any, ...] = ()
    data: bytes = b""
    body: Any = None

    def payload(self) -> bytes:
        """The service data as bytes."""
        return self.body.encode() if self.body is not None else self.data

    def encode(self) -> bytes:
        path = encode_path(self.path)
        if len(path) // 2 > 255:
            raise LocalProtocolError(f"request path of {len(path)} bytes (at most 510)")
        return bytes((self.service, len(path) // 2)) + path + self.payload()


@dataclass(frozen=True, slots=True)
class Reply:
    """A Message Router reply: ``service`` (request | 0x80), ``status``, ``extended`` words, data.

    As for :class:`Request`, the data is a decoded ``body`` or opaque ``data`` bytes.
    """

    service: int
    status: int = 0
    extended: tuple[int, ...] = ()
    data: bytes = b""
    body: Any = None
    reserved: int = 0
    #: The bytes, once encoded (a server sends one reply again while the value in it is unchanged).
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == 0

    def payload(self) -> bytes:
        """The reply data as bytes."""
        return self.body.encode() if self.body is not None else self.data

    def encode(self) -> bytes:
        encoded = self._encoded
        if encoded is not None:
            return encoded
        if len(self.extended) > 255:
            raise LocalProtocolError("more than 255 extended status words")
        data = self.payload()
        head = bytes((self.service, self.reserved, self.status, len(self.extended)))
        if self.extended:
            head += struct.pack(f"<{len(self.extended)}H", *self.extended)
        encoded = head + data
        object.__setattr__(self, "_encoded", encoded)  # (not a field of the record: a memo of its bytes)
        return encoded
