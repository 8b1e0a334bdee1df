"""``enip_format``: a decoded dotdict as the original cpppo prints it, one ``'key': value,`` line each.

Why: the original's List Identity dumps (``enip_client -i``, its ``list_identity_simple``
example) and its DETAIL logs print replies this way, and scripts and people compare
what they see with it: the dotted keys in the order the reply laid them out, each
``repr``'d and padded to 32 columns, bytes as a ``hexload`` block, and lists longer
than ten as rows of ten.
"""

from __future__ import annotations

import array
from collections.abc import Mapping
from typing import Any

from cpppo.misc_values import hexdumper

__all__ = ["enip_format"]


def _binary(val: Any, newline: str, prefix: str) -> str | None:
    """A bytes-like value as the original's ``bytes(hexload(r'''...'''))`` block; None for others."""
    if isinstance(val, array.array) and val.typecode in "bB":
        begin, end = f"array( {val.typecode!r}, ", ")"
    elif isinstance(val, bytearray):
        begin, end = "bytearray(", ")"
    elif isinstance(val, bytes):
        begin, end = "bytes(", ")"
    else:
        return None
    rows = "".join(newline + prefix + row for row in hexdumper(bytes(val)))
    return f"{begin}hexload(r'''{rows}{newline}'''){end},"


def _table(val: Any, newline: str, prefix: str) -> str:
    """A list of more than ten values as rows of ten, as the original tabulates them."""
    text = type(val).__name__ + "("
    for i, one in enumerate(val):
        if i % 10 == 0:
            text += newline + prefix
        shown = repr(one) + ","
        text += f"{shown:<8}" if isinstance(one, str) else f"{shown:>8}"
    return text + newline + "),"


def enip_format(data: Mapping[str, Any], sort_keys: bool = False, indent: int = 4) -> str:
    """*data*'s (dotted) items, one per line, between braces, as the original's ``enip_format``."""
    pairs = list(data.items())
    if sort_keys:
        pairs.sort(key=lambda kv: kv[0])
    prefix = " " * indent
    newline = "\n" + prefix
    result = "{"
    for key, val in pairs:
        result += newline + f"{repr(key) + ': ':32}"
        binary = _binary(val, newline, prefix)
        if binary is not None:
            result += binary
        elif isinstance(val, (list, tuple)) and len(val) > 10:
            result += _table(val, newline, prefix)
        else:
            result += repr(val) + ","
    return result + "\n}"
