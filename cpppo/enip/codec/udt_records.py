"""A structure's bytes <-> a record of its members, by a pycomm3-style type description.

Why: the original cpppo's ``udt.tag_struct`` decodes the bytes of a User-Defined Type read from a
controller into a dotdict of its members, and encodes one back, given the type as pycomm3 describes
it (``{"name", "attributes": [member names], "internal_tags": {name: {"offset", "data_type",
"tag_type", "array", "bit"}}, "template": {"structure_size"}}``); scripts that read UDTs with
pycomm3's type description and write them with cpppo use it.  A member is an atomic type (an
``array`` of them, or one ``bit`` of a BOOL host byte) or a nested structure; a nested Logix
STRING (LEN and DATA) is text.  Decoding never raises for one bad member: its value is the
exception, as the original gives it; encoding skips a member it cannot encode, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.enip.codec import types

__all__ = ["tag_struct"]

log = logging.getLogger(__name__)


def _is_logix_string(data_type: Mapping[str, Any]) -> bool:
    return data_type.get("name") == "STRING" and set(data_type.get("attributes", ())) == {"LEN", "DATA"}


class tag_struct:
    """Decode (:meth:`parse`) and encode (:meth:`produce`) one structure by its type description."""

    def parse(self, rec: bytes, data_type: Mapping[str, Any]) -> dotdict:
        """The members of the structure whose bytes start *rec*."""
        record = dotdict()
        for name in data_type["attributes"]:
            member = data_type["internal_tags"][name]
            offset, kind = member["offset"], member["data_type"]
            if isinstance(kind, Mapping):
                item: Any = self.parse(rec[offset:], kind)
                if kind.get("name") == "STRING":
                    length, text = item.get("LEN"), item.get("DATA")
                    failed = [v for v in (length, text) if isinstance(v, Exception)]
                    item = failed[0] if failed else "".join(chr(c) for c in text[:length])
            else:
                try:
                    item = self._atomic(rec[offset:], member)
                except Exception as exc:  # the original's contract: the member's value is the error
                    log.info("%s: cannot decode %s: %s", name, kind, exc)
                    item = exc
            dict.__setitem__(record, name, item)
        return record

    @staticmethod
    def _atomic(raw: bytes, member: Mapping[str, Any]) -> Any:
        kind = types.type_of(member["data_type"])
        if kind.name == "BOOL" and "bit" in member:
            return bool(raw[0] >> member["bit"] & 1)
        count = member.get("array")
        values = kind.decode(raw, count or 1)
        return values if count else values[0]

    def produce(self, record: Mapping[str, Any], data_type: Mapping[str, Any], structure_size: int | None = None,
                ) -> bytes:
        """The bytes of a structure holding *record*'s members (absent members are zeros)."""
        size = int(data_type["template"]["structure_size"] if structure_size is None else structure_size)
        rec = bytearray(size)
        for name in data_type["attributes"]:
            member = data_type["internal_tags"][name]
            if name not in record:
                continue
            offset, kind = member["offset"], member["data_type"]
            try:
                value = dict.__getitem__(record, name) if isinstance(record, dict) else record[name]
                if isinstance(kind, Mapping):
                    if _is_logix_string(kind):
                        text = str(value).encode("iso-8859-1")
                        value = {"LEN": len(text), "DATA": list(text)}
                    item = self.produce(value, kind)
                elif types.type_of(kind).name == "BOOL" and "bit" in member:
                    bit = 1 << member["bit"]
                    rec[offset] = (rec[offset] | bit) if value else (rec[offset] & ~bit)
                    continue
                else:
                    item = types.type_of(kind).encode(value if member.get("array") else [value])
                rec[offset:offset + len(item)] = item
            except Exception as exc:
                log.warning("Failed to produce %s %r at offset %s: %r", kind, name, offset, exc)
        return bytes(rec[:size])
