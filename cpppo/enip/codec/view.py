"""The original cpppo's dotdict view of a reply frame.

Scripts written for the original harvest raw replies with ``next(conn)`` and
read them by dotted key: ``rpy.enip.status``, ``rpy.enip.session_handle``,
``rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request.read_frag.data``.
Our records are frozen dataclasses; :func:`reply_view` lays one out under the
key names the original 5.2.5 client produces (checked against it), so those
scripts keep working.  Only replies are viewed this way: that is all the
original's documented API hands to scripts.
"""

from __future__ import annotations

import array
from typing import Any

from cpppo.dotdict import dotdict, plain
from cpppo.enip.codec import cip, encap, tag_services

__all__ = ["reply_view", "cip_reply_view"]

# The original's names for each reply's payload key, by request service code.
_PAYLOAD_KEYS = {0x4C: "read_tag", 0x52: "read_frag", 0x4D: "write_tag", 0x53: "write_frag",
                 0x0E: "get_attribute_single", 0x01: "get_attributes_all", 0x10: "set_attribute_single",
                 0x0A: "multiple", 0x4E: "read_modify_write", 0x55: "get_instance_attribute_list",
                 0x03: "get_attribute_list"}


def _bytes_array(data: bytes) -> array.array[int]:
    return array.array("B", data)


def cip_reply_view(reply: cip.Reply) -> dotdict:
    """One CIP reply as the original lays it out (``service``, ``status``, ``read_tag.data`` ...)."""
    # (laid out level by level: a client makes one of these per result)
    status_ext = plain(size=len(reply.extended))
    if reply.extended:
        status_ext["data"] = list(reply.extended)
    view = plain(input=_bytes_array(reply.encode()), service=reply.service, status=reply.status,
                 status_ext=status_ext)
    key = _PAYLOAD_KEYS.get(reply.service & 0x7F)
    body = reply.body
    if isinstance(body, tag_services.ReadTagReply) and key in ("read_tag", "read_frag"):
        if body.handle is not None:
            view[key] = plain(type=body.type, structure_handle=body.handle, data=list(body.data))
        else:
            view[key] = plain(type=body.type, data=body.values())
    elif isinstance(body, cip.MultipleServiceReply):
        parts = body.encoded if body.encoded is not None else [r.encode() for r in body.replies]
        offsets, at = [], 2 + 2 * len(parts)   # each reply's offset from the count, as the original's
        for part in parts:
            offsets.append(at)
            at += len(part)
        view["multiple"] = plain(number=len(body.replies), offsets=offsets,
                                 request=[cip_reply_view(r) for r in body.replies])
    elif key in ("write_tag", "write_frag", "set_attribute_single", "read_modify_write") and reply.ok:
        view[key] = True
    elif key is not None and reply.ok:
        view[key] = plain(data=list(reply.data))
    return view


def reply_view(frame: encap.Frame, peer: Any = None) -> dotdict:
    """A whole reply frame as the original's ``next(conn)`` returns it."""
    raw = encap.encode_frame(frame)
    view = dotdict()
    view["enip.command"] = frame.command
    view["enip.length"] = len(raw) - encap.HEADER.size
    view["enip.session_handle"] = frame.session
    view["enip.status"] = frame.status
    view["enip.sender_context.input"] = _bytes_array(frame.context)
    view["enip.options"] = frame.options
    view["enip.input"] = _bytes_array(raw[encap.HEADER.size:])
    if peer is not None:
        view["peer"] = peer
    body = frame.body
    if isinstance(body, encap.SendData):
        view["enip.CIP.send_data.interface"] = body.interface
        view["enip.CIP.send_data.timeout"] = body.timeout
        view["enip.CIP.send_data.CPF.count"] = len(body.items)
        items = []
        for item in body.items:
            one = dotdict()
            data = encap.encode_items([item])[2:]
            one["type_id"] = int.from_bytes(data[0:2], "little")
            one["length"] = int.from_bytes(data[2:4], "little")
            if isinstance(item, encap.UnconnectedData) and isinstance(item.message, cip.Reply):
                one["unconnected_send.request"] = cip_reply_view(item.message)
            elif isinstance(item, encap.ConnectedData) and isinstance(item.message, cip.Reply):
                one["connection_data.sequence"] = item.sequence
                one["connection_data.request"] = cip_reply_view(item.message)
            elif isinstance(item, encap.ConnectedAddress):
                one["connection_ID.connection"] = item.connection
            items.append(one)
        view["enip.CIP.send_data.CPF.item"] = items
    return view
