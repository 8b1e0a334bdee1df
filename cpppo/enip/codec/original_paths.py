"""The original cpppo's path texts as its list-of-dicts paths: ``parse_path``, ``parse_route_path``...

Why: scripts written for cpppo 5.2.5 call ``cpppo.server.enip.device.parse_path("Tag[3]")`` and get
``[{'symbolic': 'Tag'}, {'element': 3}]``, or ``parse_route_path("1/0")`` and get
``[{'port': 1, 'link': 0}]``, and build requests from them.  The segments themselves come from
:func:`~cpppo.enip.codec.tag_names.parse_tag` (one parser of tag names for the whole package); this
module adds the original's text around them: element ranges (``Tag[2-5]``), counts (``Tag*4``), a
default element, and route paths of ``port/link`` pairs with a trailing CIP path.  Errors are the
original's: AssertionError (or ValueError for a bad number) with a message naming the text.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from collections.abc import Callable
from typing import Any

from cpppo.enip.codec.errors import LocalProtocolError
from cpppo.enip.codec.tag_names import parse_tag, to_original

__all__ = ["parse_int", "parse_path", "parse_path_elements", "parse_path_component", "port_link",
           "parse_route_path", "parse_connection_path"]


def parse_int(x: Any, base: int = 10) -> int:
    """*x* as an int in *base*, else by its own prefix (0x, 0o, 0b): a leading zero is not octal."""
    try:
        return int(x, base=base)
    except ValueError:
        return int(x, base=0)


def parse_path_component(path: str, elm: int | None = None, cnt: int | None = None,
                         ) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """One "."-free component: ``Tag``, ``Tag[3]``, ``Tag[3-5]``, ``Tag*4`` or ``@class/instance/
    attribute/element`` (terms decimal, 0x.., or JSON segments) -> (segments, element, count).

    A range's count wins over ``*count``, which wins over *cnt*; *elm* is the default element.
    """
    if "*" in path:
        path, count_text = path.split("*", 1)
        cnt = parse_int(count_text)
    if "[" in path:
        path, inside = path.split("[", 1)
        inside, rest = inside.split("]", 1)
        assert not rest, f"Garbage after [...]: {rest!r}"
        first_text, dash, last_text = inside.partition("-")
        elm = int(first_text)
        if dash:
            cnt = int(last_text) + 1 - elm
            assert cnt > 0, f"Invalid element range {elm}-{last_text}"
    if path.startswith("@"):
        try:
            segments = to_original(parse_tag(path))
        except LocalProtocolError as exc:
            raise ValueError(f"Invalid @<class>/<instance>/<attribute>/<element>; 1-4 (default decimal) terms,"
                             f' eg. 26, 0x1A, {{"connection":100}}: {exc}') from None
    else:
        segments = [{"symbolic": path}]
    if elm is not None:
        if "element" not in segments[-1]:
            segments.append({})
        segments[-1]["element"] = elm
    return segments, elm, cnt


def parse_path_elements(path: Any, elm: int | None = None, cnt: int | None = None,
                        ) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """(segments, element, count) of a "."-separated path text; a list of segment dicts is
    returned as it is (with no element or count).  Only the last component may name a count."""
    if isinstance(path, list) and len(path) == 1 and isinstance(path[0], str):
        path = path[0]
    elif not isinstance(path, str):
        assert isinstance(path, list) and all(isinstance(p, dict) for p in path), f"parse_path unrecognized: {path!r}"
        return path, None, None
    *heads, last = path.split(".")
    segments: list[dict[str, Any]] = []
    for head in heads:
        more, _, count = parse_path_component(head)
        assert count in (None, 1), f"Only final path segment may specify multiple elements: {path!r}"
        segments += more
    more, elm, cnt = parse_path_component(last, elm=elm, cnt=cnt)
    return segments + more, elm, cnt


def parse_path(path: Any, elm: int | None = None) -> list[dict[str, Any]]:
    """The original's list-of-dicts path of "Tag.Member[3]" or "@class/instance/attribute"."""
    return parse_path_elements(path, elm=elm)[0]


def port_link(pl: Any) -> dict[str, Any]:
    """``{"port": 1, "link": 0}`` from "1/0", ("2", "10.0.0.1") or such a dict; the link an int
    or an IP address's text.  AssertionError if it is none of those."""
    if isinstance(pl, str):
        pl = [part.strip() for part in pl.split("/", 1)]
    if not isinstance(pl, dict):
        try:
            port, link = pl
        except (TypeError, ValueError):
            raise AssertionError(f"port/link: must have exactly 2 components, not: {pl!r}") from None
        pl = {"port": port, "link": link}
    assert isinstance(pl, dict) and "port" in pl and "link" in pl, \
        'port/link: must be dict containing { "port": <int>, "link": <int>/"<ip>" }'
    try:
        pl["port"] = int(pl["port"])
    except (TypeError, ValueError):
        raise AssertionError("port/link: port must be an integer") from None
    assert pl["port"] > 0, "port/link: port number must be > 0"
    try:
        pl["link"] = int(pl["link"])
    except (TypeError, ValueError):
        try:
            pl["link"] = str(ipaddress.ip_address(str(pl["link"])))
        except ValueError as exc:
            raise AssertionError(f"port/link: {pl['link']!r}: {exc}") from None
    return pl


def _split_route_text(text: str) -> list[Any]:
    """"1/0/2/10.0.0.1/@2/1" -> port/link dicts while the pairs are ones, then the rest as one text."""
    parts = iter(text.split("/"))
    route: list[Any] = []
    pair = list(itertools.islice(parts, 2))
    while pair:
        try:
            route.append(port_link(pair))
        except AssertionError:
            break
        pair = list(itertools.islice(parts, 2))
    trailer = "/".join(pair + list(parts))
    if trailer:
        route.append(trailer)
    return route


def parse_route_path(route_path: Any, trailer_parser: Callable[[list[Any]], list[Any]] | None = None) -> Any:
    """A route path: a falsy value (none), or a list of port/link dicts, from "1/0", "1/0/2/1.2.3.4",
    JSON (``[{"port": 1, "link": 0}]``, ``0``, ``null``) or a list; whatever follows the pairs must
    be parsed by *trailer_parser* (a CIP path, for a connection path)."""
    if isinstance(route_path, str):
        try:
            parsed = json.loads(route_path)
        except ValueError as exc:
            assert route_path[:1] not in '[{"', f"route_path JSON invalid: {route_path!r}; {exc}"
            route_path = _split_route_text(route_path)
        else:
            if parsed and isinstance(parsed, dict):
                parsed = [parsed]
            assert isinstance(parsed, (type(None), bool, int, list)), \
                f"route_path: must be null/0/false/true or a (sequence of) port/link, not: {parsed!r}"
            route_path = parsed
    if not route_path:
        return route_path
    pairs: list[Any] = []
    items = iter(route_path)
    item = next(items, None)
    while item:
        try:
            pairs.append(port_link(item))
        except AssertionError:
            break
        item = next(items, None)
    trailer = ([] if item is None else [item]) + list(items)
    if trailer:
        assert trailer_parser, f"route_path unhandled: {trailer!r}"
        try:
            pairs.extend(trailer_parser(trailer))
        except Exception as exc:
            raise AssertionError(f"route_path invalid: {exc}") from None
    return pairs


def parse_connection_path(path: Any) -> Any:
    """A Forward Open connection path: a route, then a CIP path ("1/0/@2/1", "2/10.0.0.1/1/0/@1/1/7")."""
    return parse_route_path(path, trailer_parser=parse_path)
