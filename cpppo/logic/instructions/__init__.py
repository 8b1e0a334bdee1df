"""The instruction set: one registry of builders, gathered from one small module per family.

Why a registry of families: the compiler looks a mnemonic up here and nowhere else, so an
instruction the controller does not run is found at load time (its routine stays idle, and the
load reports the routine, rung and mnemonic), and a new family (the expression, string, file
and program-flow instructions) slots in by adding its module's ``BUILDERS`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cpppo.logic.instructions import (
    arithmetic,
    arrays,
    bits,
    compare,
    control,
    expressions,
    move,
    strings,
    system,
    timers,
)
from cpppo.logic.instructions.base import Builder

__all__ = ["INSTRUCTIONS", "supported"]

#: Every instruction this controller runs, by mnemonic.
INSTRUCTIONS: Mapping[str, Builder] = MappingProxyType({
    name: builder for family in (bits, timers, compare, arithmetic, move, control, expressions, strings, arrays,
                                 system)
    for name, builder in family.BUILDERS.items()})


def supported() -> list[str]:
    """The mnemonics, sorted (the README's list and the live page show them)."""
    return sorted(INSTRUCTIONS)
