"""The original cpppo's dotdict views of the client's records, for scripts that inspect them.

The blocking connector hands out the original's layouts (``rpy.status``,
``'read_frag' in rpy``, ``rpy.enip.CIP.list_identity.CPF.item[0].identity_object``);
the client works on the codec's records and makes these views only at the edge.
"""

from __future__ import annotations

from typing import Any

from cpppo.dotdict import dotdict
from cpppo.misc import remember
from cpppo.enip.codec import encap
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.view import cip_reply_view
from cpppo.enip.client import plan
from cpppo.enip.client.records import Result

__all__ = ["result_view", "identity_view", "list_view"]


def result_view(result: Result, requests: dict[int, tuple[Any, Any]] | None = None) -> tuple[Any, ...]:
    """A result with the original's dotdict views of its request and reply.

    *requests*, if given, keeps each request's view for the next result of the same request (a
    poller's requests are the same records every time, and a view costs as much as a decode), and
    each reply's bytes (a reply that did not change is the same record again: the client's
    connection keeps what it decoded), so that its view is laid out without encoding it again."""
    idx, dsc, req, rpy, sts, val = result
    if requests is None:
        return idx, dsc, plan.request_view(req), cip_reply_view(rpy), sts, val
    known = requests.get(id(req))
    if known is None or known[0] is not req:
        known = (req, plan.request_view(req))
        remember(requests, id(req), known, plan.CACHE_SIZE)
    encoded = requests.get(id(rpy))
    if encoded is None or encoded[0] is not rpy:
        encoded = (rpy, rpy.encode())
        remember(requests, id(rpy), encoded, plan.CACHE_SIZE)
    return idx, dsc, known[1], cip_reply_view(rpy, encoded[1], val if isinstance(val, list) else None), sts, val


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
    name = {Command.LIST_IDENTITY: "list_identity", Command.LIST_SERVICES: "list_services",
            Command.LIST_INTERFACES: "list_interfaces"}.get(frame.command, "legacy")
    view = dotdict()
    view["enip.command"] = frame.command
    view["enip.session_handle"] = frame.session
    view["enip.status"] = frame.status
    view["enip.options"] = frame.options
    if peer is not None:
        view["peer"] = peer
    items = []
    for item in getattr(frame.body, "items", ()):
        one = dotdict()
        if isinstance(item, encap.IdentityItem):
            one["type_id"] = 0x0C
            one["identity_object"] = identity_view(item)
        elif isinstance(item, encap.ServicesItem):
            one["type_id"] = 0x100
            one["communications_service.version"] = item.version
            one["communications_service.capability"] = item.capability
            one["communications_service.service_name"] = item.name
        else:
            one["type_id"] = getattr(item, "type_id", 0)
        items.append(one)
    view[f"enip.CIP.{name}.CPF.count"] = len(items)
    view[f"enip.CIP.{name}.CPF.item"] = items
    return view
