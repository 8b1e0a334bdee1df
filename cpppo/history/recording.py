"""History files: write events one a line, read them back in time order, plain or compressed.

Why: a recording must survive the recorder crashing (each event is appended and flushed whole, so
a kill loses at most the event being written), must stay readable by the original cpppo and its
users' tools (the line format below), and must stream: a million events read in constant memory.

A line is ``<timestamp>\\t<serial as JSON>\\t<data as JSON>\\n`` with the timestamp in UTC to the
millisecond (``str(timestamp)``); lines starting with ``#`` are comments, blank lines are ignored.
A series is a file and its rotated or dated siblings (``blah.hst``, ``blah.hst.1.gz``,
``blah.hst-2014-05-13.xz``, ...), put in order by the time of their first record.
"""

from __future__ import annotations

import io
import json
import logging
import lzma
import os
import re
import types
from collections.abc import Generator, Iterable, Iterator
from typing import IO, Any, Literal, NamedTuple

from .members import COMPRESS, MemberReader, MemberWriter
from .times import timestamp

__all__ = [
    "opener", "logger", "parse_record", "HistoryExhausted", "DataError", "IframeError",
    "history_files", "record", "records",
]

log = logging.getLogger(__package__)

# The compressed suffixes: each such file is written and read as whole members (.members).
_COMPRESSORS = types.MappingProxyType(COMPRESS)


class HistoryExhausted(Exception):
    """No (more) history: no file holds records for the time asked for, or the last one has been read."""


class DataError(ValueError):
    """A history record could not be parsed."""


class IframeError(DataError):
    """The initial frame of data (the first record played back) could not be parsed."""


def opener(path: str | os.PathLike[str], mode: str = "rb", bufsize: int = -1) -> IO[Any]:
    """Open a history file, compressing or decompressing ``.gz``, ``.bz2`` and ``.xz`` transparently.

    *mode* is as for :func:`open` (``'rb'``, ``'wb'``, ``'ab'``, or text ``'r'``/``'w'``/``'a'``)
    and means the same for every kind of file.  A compressed file is written as one compressed
    member per flush and read member by member, skipping a torn one (:mod:`.members`), so a
    writer killed mid-write loses only that write, as with a plain file.  The result is a file
    object: use it as a context manager or iterate over its lines.  *bufsize* applies to plain files.
    """
    if not mode or mode[0] not in "rwax":
        raise ValueError(f"Invalid mode {mode!r} for {os.fspath(path)!r}")
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    compressor = _COMPRESSORS.get(suffix)
    log.debug("Opening %s file for %s: %s", suffix[1:] if compressor else "plain", mode, path)
    if compressor is None:
        return open(path, mode, bufsize)
    text = "b" not in mode  # like open(): no 'b' means text
    if mode[0] == "r":
        reader = io.BufferedReader(MemberReader(path, suffix))
        return io.TextIOWrapper(reader) if text else reader
    writer = MemberWriter(path, suffix, mode)
    return io.TextIOWrapper(writer, write_through=True) if text else writer  # type: ignore[return-value]


def _lines(fd: Iterable[Any], name: str) -> Iterator[Any]:
    """The lines of *fd*, ending quietly (with a warning) where a compressed stream was cut short."""
    lines = iter(fd)  # not 'yield from': closing this generator must not close the file
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except EOFError as exc:  # eg. a gzip file whose writer was killed before closing it
            log.warning("History file %s ends early (%s); using the records before that", name, exc)
            return
        yield line


class logger:
    """Append events to a history file, one line each, flushed as written.

    The file (and its directory) is created on the first write; ``.gz``/``.bz2``/``.xz`` paths are
    compressed.  Each event is flushed to the operating system as one write, so a writer killed
    at any moment leaves every earlier event intact; if a previous writer left a torn last line,
    it is terminated before appending, so it cannot damage the next event.  With *flush* False,
    events are only buffered (faster, but a crash may lose the buffer).

    Failures to open or write are logged once and absorbed (``bool(logger)`` is False meanwhile),
    so that a full disk does not stop the process being recorded; writing resumes when it can.
    Data that cannot be expressed in JSON is a programming error and raises ``TypeError``.
    """

    DFLT_BUF: int | None = None
    LINE_BUF: int = 1

    def __init__(self, path: str | os.PathLike[str] | None, bufsize: int | None = DFLT_BUF, *,
                 flush: bool = True) -> None:
        log.info("Logging history to path: %s", path)
        self.path = os.fspath(path) if path is not None else None
        self.f: IO[bytes] | None = None
        self.error = False
        self.bufsize = bufsize
        self.flush = flush
        if self.path:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)

    def __bool__(self) -> bool:
        """True while the file is open and writing works."""
        return bool(self.f and not self.error)

    def __enter__(self) -> logger:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except OSError as err:
            log.warning("Suppressed close failure on logger exit: %s", err)

    def buffering(self, bufsize: int | Literal["line"] | None = None) -> None:
        """Change the buffer size (``'line'`` for line buffering), re-opening the file if it is open."""
        if bufsize == "line":
            bufsize = self.LINE_BUF
        if self.bufsize != bufsize:
            self.bufsize = bufsize
            if self.opened():
                self.close()
                self.open()

    def opened(self) -> bool:
        """True if the file is open."""
        return bool(self.f)

    def open(self) -> bool:
        """Open the file for appending (False if there is no path); terminate a torn last line."""
        if not self.path:
            return False
        log.info("Opening history file: %s", self.path)
        compressed = os.path.splitext(self.path)[1].lower() in _COMPRESSORS
        if not compressed and os.path.exists(self.path) and os.path.getsize(self.path):
            with open(self.path, "rb") as existing:
                existing.seek(-1, io.SEEK_END)
                torn = existing.read(1) != b"\n"
        else:
            torn = False
        buffering = -1 if self.bufsize in (None, self.LINE_BUF) else self.bufsize
        self.f = opener(self.path, "ab", buffering)
        if torn:
            log.warning("History file %s ends with a torn line; terminating it", self.path)
            self.f.write(b"\n")
        return True

    def close(self) -> None:
        """Close the file (it re-opens on the next write)."""
        if self.f:
            log.info("Closing history file: %s", self.path)
            f, self.f = self.f, None
            f.close()

    def _append(self, msg: str, encoding: str | None = None) -> None:
        """Append *msg* (a whole line, newline included) as one write and flush it; raise on failure."""
        if not self.f and not self.open():
            raise OSError(f"Could not open history file {self.path} for writing")
        assert self.f is not None
        self.f.write(msg.encode(encoding or "utf-8"))
        if self.flush:
            self.f.flush()

    def _attempt(self, msg: str, encoding: str | None, when: Any) -> None:
        try:
            self._append(msg, encoding=encoding)
        except (OSError, ValueError, UnicodeError) as exc:
            if not self.error:
                log.error("History writing failure at %s: %s", when, exc)
            self.error = True
            try:  # drop what could not be written; the next write re-opens the file and tries again
                self.close()
            except (OSError, ValueError):
                pass
        else:
            if self.error:
                log.error("History writing resumed at %s", when)
            self.error = False

    def comment(self, s: str, encoding: str | None = None) -> None:
        """Append ``# <s>`` (a comment line, eg. what started the recording)."""
        if self.path is None:
            return
        self._attempt("# " + " ".join(str(s).splitlines()) + "\n", encoding, "comment")

    def write(self, data: Any, now: Any = None, serial: Any = None, encoding: str | None = None) -> None:
        """Append one event: *data* and *serial* as JSON, at *now* (anything :class:`timestamp` takes; default now)."""
        if self.path is None:
            return
        ts = timestamp(now)
        line = f"{ts}\t{json.dumps(serial)}\t{json.dumps(data)}\n"
        self._attempt(line, encoding, ts)


def parse_record(fd: Iterable[Any], n: int = -1, encoding: str | None = None) -> tuple[int, tuple[timestamp, Any, str]]:
    """Read the next record from the lines of *fd*: ``(line_number, (timestamp, serial, data_json))``.

    *n* is the number of the line read last (-1 before the first).  Comments and blank lines are
    skipped; the data is returned as its JSON text, unparsed.  A last line without its newline was
    torn by a crash: it is skipped with a warning.  Raises ``StopIteration`` when no record is
    left, ``DataError`` (naming the file and line) if the timestamp or serial cannot be parsed.
    """
    name = getattr(fd, "name", "<history>")
    for line in _lines(fd, name):
        n += 1
        if isinstance(line, bytes):
            line = line.decode(encoding or "utf-8")
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        if not line.endswith("\n"):
            log.warning("History file %s line %d: skipping torn last line %r", name, n + 1, line[:60])
            break
        try:
            when, serial, data = text.split("\t", 2)
            return n, (timestamp(when), json.loads(serial), data)
        except ValueError as exc:  # a missing tab, a bad time, bad JSON (json errors are ValueErrors)
            raise DataError(f"History file {name} line {n + 1}: invalid record {text[:60]!r}: {exc}") from None
    raise StopIteration("No more records")


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def history_files(path: str | os.PathLike[str], encoding: str | None = None) -> list[tuple[timestamp, str]]:
    """The files of the series named by *path*, oldest first, as ``(first_timestamp, file_path)``.

    The series is *path* and every sibling named *path* followed by ``.``, ``-`` or ``_`` and more
    (``blah.hst.1``, ``blah.hst.2.gz``, ``blah.hst-2014-05-13``).  When a file exists both plain and
    compressed (``blah.hst.1`` and ``blah.hst.1.gz``: a compression in progress) the plain one is
    used.  Files without a readable first record are skipped, with a log message.
    """
    full = os.fspath(path)
    directory, base = os.path.dirname(full) or ".", os.path.basename(full)
    try:
        names = [n for n in os.listdir(directory)
                 if n == base or (n.startswith(base) and n[len(base)] in ".-_")]
    except FileNotFoundError:
        return []
    present = set(names)
    found = []
    for name in sorted(names, key=_natural):
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in _COMPRESSORS and stem in present:
            continue  # prefer the uncompressed original
        file_path = os.path.join(os.path.dirname(full), name)
        try:
            with opener(file_path) as fd:
                _, (first, _, _) = parse_record(fd, encoding=encoding)
        except StopIteration:
            log.info("Ignoring history file %s: no records", file_path)
            continue
        except (OSError, EOFError, DataError, lzma.LZMAError) as exc:
            log.warning("Ignoring history file %s: %s", file_path, exc)
            continue
        found.append((first, file_path))
    found.sort(key=lambda item: item[0].value)
    return found


class record(NamedTuple):
    """One recorded event."""

    timestamp: timestamp
    serial: Any
    data: Any


def records(path: str | os.PathLike[str], start: Any = None, stop: Any = None, *,
            strict: bool = False, encoding: str | None = None) -> Generator[record, None, None]:
    """Stream the events of the series named by *path*, in time order, from *start* up to (not including) *stop*.

    *start*/*stop* are anything :class:`timestamp` accepts.  Reading begins in the last file
    starting at or before *start*, and only one line is held at a time, so any volume streams in
    constant memory.  A record with an unparsable line is skipped with a warning (with *strict*,
    ``DataError`` is raised instead); so is one older than the record before it (across a
    series, that means overlapping files).  A torn last line is skipped with a warning.
    """
    begin = None if start is None else timestamp(start)
    end = None if stop is None else timestamp(stop)
    files = history_files(path, encoding=encoding)
    first = 0
    if begin is not None:
        for i, (when, _) in enumerate(files):
            if when <= begin:
                first = i
    last: timestamp | None = None
    for _, file_path in files[first:]:
        skipped = 0
        with opener(file_path) as fd:
            n = -1
            while True:
                try:
                    n, (when, serial, data) = parse_record(fd, n=n, encoding=encoding)
                    value = json.loads(data)
                except StopIteration:
                    break
                except DataError as exc:
                    if strict:
                        raise
                    log.warning("%s; skipping it", exc)
                    continue
                except ValueError as exc:  # the data's JSON
                    problem = f"History file {file_path} line {n + 1}: invalid data: {exc}"
                    if strict:
                        raise DataError(problem) from None
                    log.warning("%s; skipping it", problem)
                    continue
                if end is not None and when >= end:
                    return
                if begin is not None and when < begin:
                    continue
                if last is not None and when < last:
                    skipped += 1
                    continue
                last = when
                yield record(when, serial, value)
        if skipped:
            log.warning("History file %s: skipped %d records older than those before them", file_path, skipped)
