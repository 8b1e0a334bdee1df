"""The original cpppo's dotdict views of the client's records, for scripts that inspect them.

The blocking connector hands out the original's layouts (``rpy.status``,
``'read_frag' in rpy``, ``rpy.enip.CIP.list_identity.CPF.item[0].identity_object``);
the client works on the codec's records and makes these views only at the edge.
"""

from __future__ import annotations

import array
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.enip.client import plan
from cpppo.enip.client.records import Result
from cpppo.enip.codec import cpf, encap
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.view import cip_reply_view
from cpppo.misc import remember

__all__ = ["result_view", "identity_view", "list_view"]


def result_view(result: Result, requests: dict[int, tuple[Any, Any]] | None = None) -> tuple[Any, ...]:
    """A result with the original's dotdict views of its request and reply.

    *requests*, if given, keeps the views it made, by record, for the next result with the same
    request or reply record: a poller's requests are the same records every time, and so are its
    replies while their values do not change (the client's connection keeps what it decoded, by
    its bytes), and laying out a view costs more than the read.  Such results share their views,
    as equal records share their meaning; the value (``val``) is the result's own list."""
    idx, dsc, req, rpy, sts, val = result
    if requests is None:
        return idx, dsc, plan.request_view(req), cip_reply_view(rpy), sts, val
    known = requests.get(id(req))
    if known is None or known[0] is not req:
        known = remember(requests, id(req), (req, plan.request_view(req)), plan.CACHE_SIZE)
    reply = requests.get(id(rpy))
    if reply is None or reply[0] is not rpy:
        reply = remember(requests, id(rpy), (rpy, cip_reply_view(rpy)), plan.CACHE_SIZE)
    return idx, dsc, known[1], reply[1], sts, val


def identity_view(item: encap.IdentityItem) -> dotdict:
    """A ListIdentity reply's identity as the original lays it out (``product_name``, ``sin_addr``...)."""
    view = dotdict()
    view["version"] = item.version
    view["sin_family"] = item.family
    view["sin_port"] = item.port
    view["sin_addr"] = item.address
    view["vendor_id"] = item.vendor_id
    view["device_type"] = item.device_type
    view["product_code"] = item.product_code
    view["product_revision"] = item.revision[0] | item.revision[1] << 8
    view["status_word"] = item.status
    view["serial_number"] = item.serial_number
    view["product_name"] = item.product_name
    view["state"] = item.state
    return view


def list_view(frame: encap.Frame, peer: Any = None) -> dotdict:
    """A List Identity / Services / Interfaces reply as the original lays it out."""
    names: dict[int, str] = {Command.LIST_IDENTITY: "list_identity", Command.LIST_SERVICES: "list_services",
                             Command.LIST_INTERFACES: "list_interfaces"}
    name = names.get(frame.command, "legacy")
    view = dotdict()  # (its keys in the original's order: its enip_format prints them so)
    if peer is not None:
        view["peer"] = peer
    view["enip.command"] = frame.command
    view["enip.length"] = len(encap.encode_body(frame.body))
    view["enip.session_handle"] = frame.session
    view["enip.status"] = frame.status
    view["enip.sender_context.input"] = array.array("B", frame.context)
    view["enip.options"] = frame.options
    if view["enip.length"]:
        view["enip.input"] = array.array("B", encap.encode_body(frame.body))
    items = []
    for item in getattr(frame.body, "items", ()):
        one = dotdict()
        if isinstance(item, encap.IdentityItem):
            one["type_id"] = 0x0C
            one["length"] = len(cpf.encode_items([item])) - 6  # (less the count, type and length words)
            one["identity_object"] = identity_view(item)
        elif isinstance(item, encap.ServicesItem):
            one["type_id"] = 0x100
            one["length"] = len(cpf.encode_items([item])) - 6
            one["communications_service.version"] = item.version
            one["communications_service.capability"] = item.capability
            one["communications_service.service_name"] = item.name
        else:
            one["type_id"] = getattr(item, "type_id", 0)
        items.append(one)
    view[f"enip.CIP.{name}.CPF.count"] = len(items)
    if items:  # (none: no "item" at all, as the original's)
        view[f"enip.CIP.{name}.CPF.item"] = items
    return view
