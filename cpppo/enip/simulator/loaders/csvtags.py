"""``--csv FILE``: a Studio 5000 / RSLogix 5000 tag export (CSV) as the simulator's tags.

The tag CSV is what many sites keep in version control: ``remark`` lines, a
version line, the header ``TYPE,SCOPE,NAME,DESCRIPTION,DATATYPE,SPECIFIER,
ATTRIBUTES``, then one row per tag (``TAG``), alias (``ALIAS``, its base in
SPECIFIER), comment and so on.  It names types but does not define them, so
types come from the predefined Logix ones or from L5X files loaded first; it
carries no values, so every tag starts at zero.  Produced and consumed tags are
``TAG`` rows too (their ``ProduceCount :=`` or ``Producer :=``, ``RemoteTag :=``
attributes describe connections a simulator does not make): they are served as
any other tag; ``Constant := true`` refuses client writes.  Rows of other kinds
(comments, I/O) are skipped with one log line each.
"""

from __future__ import annotations

import csv
import logging
import os
import re

from cpppo.enip.simulator.controller.structures import PREDEFINED, Structure
from cpppo.enip.simulator.loaders.l5x import ACCESS, ATOMIC, L5XFile, L5XTag, resolve_aliases

__all__ = ["load_csv"]

log = logging.getLogger(__name__)

HEADER = ("TYPE", "SCOPE", "NAME", "DESCRIPTION", "DATATYPE", "SPECIFIER", "ATTRIBUTES")
_DATATYPE = re.compile(r"^\s*(?P<type>[A-Za-z_][\w:]*)\s*(?:\[\s*(?P<dims>\d+(?:\s*,\s*\d+){0,2})\s*\])?\s*$")
_ACCESS = re.compile(r"ExternalAccess\s*:=\s*(?P<access>Read/Write|Read Only|None)", re.IGNORECASE)
_CONSTANT = re.compile(r"\bConstant\s*:=\s*true\b", re.IGNORECASE)


def _kind(name: str, types: dict[str, Structure]) -> str | Structure | None:
    upper = name.upper()
    if upper in ATOMIC:
        return upper
    if upper in PREDEFINED:
        return PREDEFINED[upper]
    return next((t for n, t in types.items() if n.upper() == upper), None)


def load_csv(paths: list[str], types: dict[str, Structure] | None = None) -> L5XFile:
    """Read tag export CSVs; *types* are user-defined types by name (eg. an :func:`.l5x.load_l5x`'s)."""
    known = dict(types or {})
    result = L5XFile()
    aliases: list[tuple[str, str, str, str]] = []
    for path in paths:
        if not os.path.exists(path):
            raise ValueError(f"CSV file {path!r} not found")
        try:
            with open(path, newline="", encoding="utf-8-sig") as file:
                rows = list(enumerate(csv.reader(file), start=1))
        except (UnicodeDecodeError, csv.Error) as error:
            raise ValueError(f"CSV file {path!r}: {error}") from None
        header = False
        for line, row in rows:
            place = f"{path}:{line}"
            if not row or not "".join(row).strip() or row[0].strip().lower() == "remark":
                continue
            if not header:
                if tuple(c.strip().upper() for c in row[:7]) == HEADER:
                    header = True
                elif len(row) > 1:
                    raise ValueError(f"{place}: expected the header {','.join(HEADER)}")
                continue  # the version line (0.3) before the header
            row = (row + [""] * 7)[:7]
            kind, scope, name, description, datatype, specifier, attributes = (c.strip() for c in row)
            prefix = f"Program:{scope}." if scope else ""
            if scope and scope not in result.programs:
                result.programs.append(scope)
            if kind.upper() == "ALIAS":
                aliases.append((prefix + name, prefix, specifier, place))
                continue
            if kind.upper() != "TAG":
                log.info("%s: %s row %s skipped", place, kind, name)
                continue
            if not name:
                raise ValueError(f"{place}: a TAG row without a NAME")
            match = _DATATYPE.match(datatype)
            if not match:
                raise ValueError(f"{place}: DATATYPE {datatype!r} is not TYPE or TYPE[DIMS]")
            resolved = _kind(match.group("type"), known)
            if resolved is None:
                log.info("%s: tag %s%s of type %s is not served (define it with --l5x): skipped",
                         place, prefix, name, match.group("type"))
                continue
            dims = tuple(int(d) for d in match.group("dims").split(",")) if match.group("dims") else ()
            if not all(dims):
                raise ValueError(f"{place}: DATATYPE {datatype!r} has a zero dimension")
            if resolved == "BOOL" and dims:
                if len(dims) != 1:
                    raise ValueError(f"{place}: a BOOL array has one dimension")
                resolved, dims = "DWORD", ((dims[0] + 31) // 32,)
            access = _ACCESS.search(attributes)
            code = ACCESS[access.group("access").upper()] if access else 0
            constant = _CONSTANT.search(attributes) is not None
            result.tags.append(L5XTag(prefix + name, resolved, dims, None, code, description,
                                      constant))
    if len({t.name.upper() for t in result.tags}) != len(result.tags):
        raise ValueError(f"CSV: a tag is named twice in {', '.join(paths)}")
    resolve_aliases(result, aliases)
    return result
