"""The original cpppo's value helpers: numbers, sort keys, text layout, hex dumps, IP addresses.

Why: cpppo 5.2.5 put these in ``cpppo.misc`` and, through ``from .misc import *``, at the top of
the package; its users' scripts call ``cpppo.scale(...)``, ``cpppo.parse_ip_port(...)``,
``sorted(..., key=cpppo.natural)`` and ``cpppo.hexdump(...)``.  Each one here does what the
original's does for the same arguments (its layout of a hex dump, its rounding of a magnitude, its
``AssertionError`` for a value it cannot handle), written again for Python 3 only.  The Python 2
shims the original exported (``unicode``, ``xrange``, ``type_str_base``...) are kept as the plain
Python 3 names, because scripts still spell them.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import redirect_stdout
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "nan", "inf", "isnan", "isinf", "unicode", "xrange", "reprlib", "type_str_base", "type_bytes_iter",
    "type_str_iter", "type_unicode_array_symbol", "type_str_array_symbol", "type_bytes_array_symbol",
    "near", "clamp", "scale", "magnitude", "exponential_moving_average", "natural", "non_value",
    "nan_first", "nan_last", "centeraxis", "hexdumper", "hexdump", "hexdump_differs", "hexdecode",
    "hexloader", "hexload", "ip", "network", "parse_ip_port", "ip_address", "ip_network", "IPv4Address",
    "IPv6Address", "urlparse", "redirect_stdout", "make_socket_stream", "redirect_stdout_socket",
]

log = logging.getLogger(__name__)

nan = math.nan
inf = math.inf
isnan = math.isnan
isinf = math.isinf

# The original's Python 2/3 names, as Python 3 has them.
unicode = str
xrange = range
type_str_base = str
type_bytes_iter = int
type_str_iter = str
type_unicode_array_symbol = "u"
type_str_array_symbol = "u"
type_bytes_array_symbol = "B"


# --- numbers --------------------------------------------------------------------------------
def near(a: float, b: float, significance: float = 1.0e-4) -> bool:
    """True if *a* and *b* differ by at most *significance* times the larger of their magnitudes."""
    return abs(a - b) <= significance * max(abs(a), abs(b))


def clamp(val: Any, lim: tuple[Any, Any]) -> Any:
    """*val* limited to (low, high); a NaN limit limits nothing (every comparison with NaN is false)."""
    if val < lim[0]:
        return lim[0]
    if val > lim[1]:
        return lim[1]
    return val


def scale(val: float, dom: tuple[float, float], rng: tuple[float, float], clamped: bool = False,
          exponent: float = 1) -> float:
    """Map *val* from the domain *dom* onto the range *rng* (either may run downwards).

    With an *exponent* other than 1 the domain must be increasing and *val* inside it (or *clamped*
    into it): a negative base raised to a fractional power has no real value.  *clamped* also
    limits the result to the range.

    Raises:
        AssertionError: an empty domain, or (non-linear) a decreasing domain or a value outside it.
    """
    if exponent != 1:
        assert dom[1] > dom[0], f"Scaling {val} non-linearly requires an ordered domain: {dom}"
        if clamped:
            val = clamp(val, (min(dom), max(dom)))
        else:
            assert dom[0] <= val <= dom[1], f"Scaling {val} non-linearly requires value in domain: {dom}"
    else:
        assert dom[1] != dom[0], f"Scaling {val} requires a non-zero domain: {dom}"
    result = rng[0] + (val - dom[0]) ** exponent * (rng[1] - rng[0]) / (dom[1] - dom[0]) ** exponent
    if clamped:
        result = clamp(result, (min(rng), max(rng)))
    return result


def magnitude(val: float, base: float = 10) -> float:
    """The step one digit below *val*'s rounded order of magnitude (23 -> 1, .23 -> .01); NaN for val <= 0.

    The rounding of the logarithm moves to the next step about a quarter of the way past each power
    of *base*, as the original's does (handy for up/down increments of a displayed value).
    """
    if val <= 0:
        return nan
    return pow(base, round(math.log(val, base)) - 1)  # an int for an int base and val >= 1, as the original


def exponential_moving_average(current: float | None, sample: float, weight: float) -> float:
    """*current* moved *weight* of the way towards *sample*; the sample itself when current is None."""
    return sample if current is None else current + weight * (sample - current)


# --- sort keys ------------------------------------------------------------------------------
_NUMBERS = (float, int)


def natural(string: Any, fmt: str = "%9s") -> tuple:
    """A sort key that orders the digits in text as numbers: '1st' < '9' < '10th' < 'a' < 'Z'.

    Numbers sort as their text (9.3 with '9.3'); any other non-text value sorts as
    ``('', type name, hash or id)``, so that mixed lists sort without a TypeError.
    """
    if type(string) in _NUMBERS:
        string = str(string)
    if not isinstance(string, str):
        hashable = getattr(string, "__hash__", None) is not None
        return ("", type(string).__name__, hash(string) if hashable else id(string))
    parts: list[Any] = []
    for char in string:
        if char.isdigit():
            if parts and type(parts[-1]) is int:
                parts[-1] = parts[-1] * 10 + int(char)
            else:
                parts.append(int(char))
        else:
            parts.append(char.lower())
    return tuple(fmt % part if type(part) is int else part for part in parts)


def non_value(number: Any) -> bool:
    """True for None or NaN: no number at all."""
    return number is None or isnan(number)


def nan_first(number: Any) -> float:
    """A sort key placing None and NaN before every number."""
    return -inf if non_value(number) else number


def nan_last(number: Any) -> float:
    """A sort key placing None and NaN after every number."""
    return inf if non_value(number) else number


# --- text layout ----------------------------------------------------------------------------
def centeraxis(string: Any, width: int, axis: str = ".", fillchar: str = " ", reverse: bool = False,
               clip: bool = False, left_right: Callable[[int], tuple[int, int]] = lambda w: (w // 2, w - w // 2),
               ) -> str:
    """*string* padded to *width* with its (last; with *reverse*, first) *axis* character at the
    centre, so that a column of numbers lines up on the decimal point; *clip* cuts what overflows.

    Text without the axis character is placed left of the centre (with *reverse*, entirely left).
    """
    string = str(string)
    pos = string.find(axis) if reverse else string.rfind(axis)
    if pos < 0:
        if reverse:
            pos = len(string)
        else:
            pos, string = 0, fillchar + string
    left, right = string[:pos], string[pos:]
    lwid, rwid = left_right(width)
    if len(left) < lwid:
        left = fillchar * (lwid - len(left)) + left
    elif clip:
        left = left[-lwid:]
    if len(right) < rwid:
        right += fillchar * (rwid - len(right))
    elif clip:
        right = right[:rwid]
    return left + right


# --- hex dumps ------------------------------------------------------------------------------
def hexdumper(src: bytes, offset: int = 0, length: int = 16, sep: str = ".", quote: str = "|") -> Iterator[str]:
    """Yield the lines of a hex dump of *src*: address, hex bytes (an extra space at the middle
    of a row), and the printable text between *quote* characters (*sep* for the rest)."""
    for i in range(0, len(src), length):
        row = bytes(src[i:i + length])
        hexa = ""
        for n, b in enumerate(row):
            hexa += (" " if n == length / 2 else "") + f"{b:02x} "
        hexa = hexa.strip(" ")
        text = "".join(chr(b) if 0x20 <= b < 0x7F else sep for b in row)
        q = quote or ""
        yield f"{i + offset:08X}:  {hexa:<{length * 3 + 1}s}  {q}{text}{q}"


def hexdump(src: bytes, offset: int = 0, length: int = 16, sep: str = ".", quote: str = "|") -> str:
    """The lines of :func:`hexdumper` joined by newlines."""
    return "\n".join(hexdumper(src, offset=offset, length=length, sep=sep, quote=quote))


def hexdump_differs(*dumps: str, inclusive: bool = False) -> str:
    """Several dumps side by side, one row per line, joined by ' == ' or ' != '; only the rows
    that differ unless *inclusive*."""
    rows = []
    for cols in zip(*(d.split("\n") for d in dumps)):
        same = all(c == cols[0] for c in cols[1:])
        if inclusive or not same:
            rows.append((" == " if same else " != ").join(cols))
    return "\n".join(rows)


def hexdecode(enc: str, offset: int = 0, sep: str = ":") -> bytes:
    """The bytes of hex octets written "ab:cd:ef" (separated by *sep*), from *offset* on."""
    return bytes.fromhex("".join(enc.split(sep)))[offset:]


_HEX_ROW = re.compile(r"""^\s*(?P<address>[0-9A-Fa-f]{1,16})[:]\s*
                          (?P<values>(?:\s{0,2}[0-9A-Fa-f]{2})+)
                          (?:\s+(?P<quote>\|?)(?P<print>.*)(?P=quote))?$""", re.VERBOSE)


def hexloader(dump: str | Iterable[str], offset: int = 0, fill: bytes | bool = False,
              skip: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield (address, bytes) per row of a hex dump (as :func:`hexdump` writes it), from *offset*.

    A gap between rows is filled with the single byte *fill* if given (else skipped); rows before
    *offset* are clipped.  A row that is not a dump row raises AssertionError unless *skip*.
    """
    if fill:
        assert isinstance(fill, bytes) and len(fill) == 1, f"fill must be a bytes singleton, not {fill!r}"
    rows = dump.split("\n") if isinstance(dump, str) else dump
    for row in rows:
        if not row.strip():
            continue
        match = _HEX_ROW.match(row)
        if not match:
            assert skip, f"Failed to match a hex dump on row: {row!r}"
            continue
        addr = int(match.group("address"), 16)
        data = hexdecode(match.group("values"), sep=" ")
        if addr > offset:
            if fill:
                yield offset, bytes(fill) * (addr - offset)
            offset = addr
        if addr < offset:
            if addr + len(data) <= offset:
                continue
            data, addr = data[offset - addr:], offset
        yield addr, data
        offset = addr + len(data)


def hexload(dump: str | Iterable[str], offset: int = 0, fill: bytes | bool = False, skip: bool = False) -> bytes:
    """The bytes of a hex dump (see :func:`hexloader`)."""
    return b"".join(data for _, data in hexloader(dump, offset=offset, fill=fill, skip=skip))


# --- addresses ------------------------------------------------------------------------------
def ip(a: Any) -> IPv4Address | IPv6Address:
    """``ipaddress.ip_address`` of the text of *a*."""
    return ip_address(str(a))


def network(a: Any) -> Any:
    """``ipaddress.ip_network`` of the text of *a*."""
    return ip_network(str(a))


def _maybe_ip(addr: Any) -> Any:
    try:
        return ip(addr)
    except ValueError:
        return addr


def _split_netloc(netloc: Any) -> tuple[Any, Any]:
    """(address, port) from the forms the original accepts, in its order of trying them."""
    try:  # a tuple, or its Python literal text: "('host', 44818)"
        addr, port = ast.literal_eval(netloc) if isinstance(netloc, str) else netloc
        if isinstance(addr, str) and isinstance(port, (int, type(None))):
            return addr, port
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:  # a bare IPv4/IPv6 address: "::1"
        return ip(netloc), None
    except ValueError:
        pass
    try:  # host:port, [IPv6]:port
        parsed = urlparse(f"//{netloc}")
        port = parsed.port
        addr = parsed.netloc if port is None else parsed.hostname   # the text keeps its case
        try:
            return ip(parsed.hostname), port
        except ValueError:
            return addr, port
    except ValueError:  # a port that is not a number, or "::1:12345"
        head, colon, tail = str(netloc).rpartition(":")
        addr, port = (head, tail) if colon else (tail, None)
        assert not addr.endswith(":"), f"Expected <host>[:<port>], found {netloc!r}"
        return _maybe_ip(addr), port


def parse_ip_port(netloc: Any, default: tuple[Any, Any] | None = (None, None)) -> tuple[Any, int | None]:
    """(host, port) of "host[:port]", "[v6]:port", a bare IP, or a ``(host, port)`` tuple or its text.

    The host comes back as an ``ip_address`` when it is one, else as text; a missing (empty) host
    or port takes *default*'s (port 0 is kept).  The original's contract, asserts included:

    Raises:
        AssertionError: no host at all.
        ValueError: a port that is not a number.
    """
    addr, port = _split_netloc(netloc)
    if not addr and default and default[0] is not None:
        addr = default[0]
    assert addr is not None, f"No IP/hostname found in {netloc!r} w/ default={default!r}"
    if port is None and default and default[1] is not None:
        port = default[1]
    if port is not None:
        port = int(port)
    assert isinstance(addr, (str, IPv4Address, IPv6Address)), f"address must be an IP or a hostname str, not {addr!r}"
    return addr, port


# --- output to a socket ---------------------------------------------------------------------
def make_socket_stream(sock: Any, mode: str, buffering: int | None = None, encoding: str | None = None) -> Any:
    """A file object over socket *sock* (text in *encoding* unless *mode* has 'b')."""
    if "b" in mode:
        return sock.makefile(mode, buffering=buffering)
    return sock.makefile(mode, buffering=buffering, encoding=encoding)


def redirect_stdout_socket(target: Callable[..., Any], buffering: int | None = None) -> Callable[..., Any]:
    """Wrap *target* so that, called with a socket first, its printed output goes to that socket."""
    def wrapper(write_socket: Any, *args: Any, **kwds: Any) -> Any:
        stream = make_socket_stream(write_socket, "w", buffering=buffering, encoding="utf-8")
        with redirect_stdout(stream):
            return target(*args, **kwds)
    wrapper.__name__ = getattr(target, "__name__", "wrapper")
    wrapper.__doc__ = getattr(target, "__doc__", None)
    return wrapper
