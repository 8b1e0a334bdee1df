"""Compressed history files made of whole members, so that they are as crash-safe as plain ones.

Why: a ``.gz``/``.bz2``/``.xz`` file written as one compressed stream is unreadable past the
point where a writer was killed (``kill -9``, power loss), and whatever a later writer appends
after that point is unreadable too (``zlib.error``, ``OSError: Invalid data stream``).  So

- :class:`MemberWriter` writes each flush as a complete compressed member (gzip member, bzip2
  stream, xz stream: all three formats allow concatenation, and ``gzip``/``bzip2``/``xz``
  ``-d`` read such files) in one ``write``: a kill leaves at most one torn member at the end;
- :class:`MemberReader` decompresses member by member; a member that fails (torn, or damaged)
  is dropped with a warning and reading resumes at the next member's magic bytes.  A member's
  output is released only once its end (and check) is read, unless it is large (a file written
  as one stream by another tool), which is then streamed so that reading stays in bounded memory.
"""

from __future__ import annotations

import bz2
import io
import logging
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["MemberWriter", "MemberReader", "COMPRESS", "MAGIC"]

log = logging.getLogger(__package__)

COMPRESS: dict[str, Callable[[bytes], bytes]] = {".gz": lambda b: zlib.compress(b, 9, 31), ".bz2": bz2.compress,
                                                 ".xz": lzma.compress}
MAGIC = {".gz": b"\x1f\x8b\x08", ".bz2": b"BZh", ".xz": b"\xfd7zXZ\x00"}
_DECOMPRESSOR: dict[str, Callable[[], Any]] = {".gz": lambda: zlib.decompressobj(31), ".bz2": bz2.BZ2Decompressor,
                                               ".xz": lzma.LZMADecompressor}
_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)
#: Output held back until its member is proven whole; a bigger member is streamed instead.
HOLD = 1 << 18
#: Input gathered into one member when the writer is not flushed after each event.
MEMBER = 1 << 16
CHUNK = 1 << 16


class MemberWriter(io.BufferedIOBase):
    """Writes compressed members of what was written since the last :meth:`flush` (or :data:`MEMBER` bytes)."""

    def __init__(self, path: str | os.PathLike[str], suffix: str, mode: str = "ab") -> None:
        super().__init__()
        self.name = os.fspath(path)
        self._compress = COMPRESS[suffix]
        self._raw = open(path, mode.replace("t", "").replace("b", "") + "b", buffering=0)  # noqa: SIM115
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed history file")
        if self._pending and len(self._pending) + len(data) > MEMBER:
            self.flush()  # members end where writes do: a logger's lines are never split across two
        self._pending += data
        return len(data)

    def flush(self) -> None:
        if self.closed or not self._pending:
            return
        member = memoryview(self._compress(bytes(self._pending)))
        self._pending.clear()
        while member:  # one write in practice; a short write is completed
            written = self._raw.write(member)
            member = member[written or 0:]

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush()
            finally:
                self._raw.close()
                super().close()


class MemberReader(io.RawIOBase):
    """The decompressed bytes of a file of concatenated members, skipping a torn or damaged member."""

    def __init__(self, path: str | os.PathLike[str], suffix: str) -> None:
        super().__init__()
        self.name = os.fspath(path)
        self._suffix = suffix
        self._raw = open(path, "rb")  # noqa: SIM115
        self._chunks = self._decompressed()
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = chunk
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            super().close()

    def _find(self, start: int) -> int | None:
        """The offset of the next member's magic bytes at or after *start* (None if none)."""
        magic = MAGIC[self._suffix]
        self._raw.seek(start)
        carry, offset = b"", start
        while data := self._raw.read(CHUNK):
            found = (carry + data).find(magic)
            if found >= 0:
                return offset - len(carry) + found
            carry, offset = (carry + data)[-(len(magic) - 1):], offset + len(data)
        return None

    def _decompressed(self) -> Iterator[bytes]:
        start = 0
        while True:
            self._raw.seek(start)
            decompressor = _DECOMPRESSOR[self._suffix]()
            held: list[bytes] = []
            size, position, fed, whole, streaming = 0, start, False, False, False
            while data := self._raw.read(CHUNK):
                fed = True
                try:
                    out = decompressor.decompress(data)
                except _ERRORS:
                    break
                position += len(data)
                if streaming:
                    yield out
                else:
                    held.append(out)
                    size += len(out)
                    if size > HOLD:
                        streaming = True
                        yield b"".join(held)
                if decompressor.eof:
                    whole, position = True, position - len(decompressor.unused_data)
                    break
            if whole:
                if not streaming:
                    yield b"".join(held)
                start = position
                continue
            if not fed:
                return  # the end of the file, after a whole member
            log.warning("History file %s: the compressed member at byte %d is torn or damaged (a writer was "
                        "killed?); skipping it", self.name, start)
            if streaming:
                yield b"\n"  # end the torn line there, so the next member's first line stands alone
            following = self._find(start + 1)
            if following is None:
                return
            start = following
