"""``server/logic``: the controller's program (cpppo.logic) in the web API: its mode, scans and routines.

Why a target of its own: the live page shows whether the program runs (mode, scan count, last
and longest scan, each routine's state and why an idle one is idle, the major fault that
stopped it) and switches it: ``server/logic/mode/run`` or ``.../program`` (a state-changing
command, so the web's origin rules (:mod:`.guard`) apply to it as to any other), and
``server/logic/clear/true`` clears a major fault and returns to Run.
"""

from __future__ import annotations

from typing import Any

from cpppo.enip.web.api import Api, ApiError, Target, parse_bool

__all__ = ["ProgramTarget", "install"]


class ProgramTarget(Target):
    """``server/logic``: ``mode`` (run or program) and ``clear`` (a major fault), and the scan's report."""

    commands = ("mode", "clear")

    def __init__(self, logic: Any) -> None:
        self.logic = logic

    def data(self) -> dict[str, Any]:
        report = self.logic.report()
        report["clear"] = report["fault"] is None
        return report

    def set(self, command: str, value: str) -> Any:
        if command == "clear":
            if parse_bool(value):
                self.logic.clear_fault()
            return self.logic.mode.value
        mode = value.strip().lower()
        if mode not in ("run", "program"):
            raise ApiError(400, f"mode {value!r}: run or program")
        if self.logic.mode.value == "Faulted":
            raise ApiError(400, "the controller is faulted: clear the fault first (server/logic/clear/true)")
        self.logic.set_mode(mode)
        return self.logic.mode.value


def install(api: Api) -> None:
    """Serve ``server/logic`` on *api* when its controller runs a program."""
    if getattr(api.controller, "logic", None) is not None:
        api.server_targets["logic"] = lambda: ProgramTarget(api.controller.logic)
