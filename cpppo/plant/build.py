"""Build the plant's devices: each controller with the simulator's own build, each Modbus device with its own.

Why here and not in the serving: everything that can be wrong with a plant file
(a bad tag, an unreadable L5X) must be found before the first port is bound, so
that nothing starts half-configured.  A controller is built exactly as
``python -m cpppo.server.enip`` builds one (:func:`cpppo.enip.simulator.run.build_service`
from :class:`~cpppo.enip.simulator.options.Settings`); what several controllers
may share is shared: the tag files are read once per distinct list of files, and
the parsed tags once per distinct list of tags (both are read-only to the build).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cpppo.enip.codec.epath import Port
from cpppo.enip.simulator import options as opts
from cpppo.enip.simulator.run import build_service
from cpppo.enip.simulator.service import EnipService
from cpppo.enip.simulator.transport import Limits
from cpppo.modbus.ranges import Range, parse_range
from cpppo.plant.model import ControllerSpec, ModbusSpec, PlantError

__all__ = ["Builder"]


def _identity(pairs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    identity = dict(pairs)
    if isinstance(identity.get("revision"), str):
        major, _, minor = identity["revision"].partition(".")
        identity["revision"] = (int(major), int(minor or 0))
    return identity


class Builder:
    """Builds a plant's devices, sharing what is immutable between them.

    *limits* are each controller's (a copy each); *cache_bytes* the process's; *logic* and
    *scan_period* (``--logic``, ``--scan-period``) each controller's program's, if its L5X has one.
    """

    def __init__(self, file: str, clock: Any, limits: Limits | None = None, cache_bytes: int = 16 << 20,
                 logic: str | None = None, scan_period: float = 0.010) -> None:
        self.file = file
        self.clock = clock
        self.limits = limits or Limits()
        self.cache_bytes = cache_bytes
        self.logic = logic
        self.scan_period = scan_period
        self._settings: dict[tuple[Any, ...], opts.Settings] = {}  # (tags, files) -> loaded settings
        self._ranges: dict[tuple[str, ...], list[Range]] = {}

    def _loaded(self, controller: ControllerSpec) -> opts.Settings:
        key = (controller.tags, controller.tags_file, controller.l5x, controller.csv)
        settings = self._settings.get(key)
        if settings is None:
            settings = opts.Settings(tag_args=list(controller.tags), tag_files=list(controller.tags_file),
                                     l5x_files=list(controller.l5x), csv_files=list(controller.csv),
                                     limits=self.limits, cache_bytes=self.cache_bytes, logic=self.logic,
                                     scan_period=self.scan_period)
            try:
                opts.load(settings)
            except (ValueError, OSError) as error:
                raise PlantError(self.file, controller.entry, str(error)) from None
            self._settings[key] = settings
        return settings

    def controller(self, controller: ControllerSpec) -> EnipService:
        """*controller* built (not yet listening); PlantError for a bad tag or tag file."""
        loaded = self._loaded(controller)
        identity = dict(loaded.identity)  # (an L5X's processor name), then the plant file's
        identity.update(_identity(controller.identity))
        slot = controller.slot
        settings = dataclasses.replace(loaded, identity=identity, address=controller.address,
                                       route_path=None if slot is None else (Port(1, slot),))
        try:
            service = build_service(settings, clock=self.clock, slot=slot or 0)
        except (ValueError, TypeError) as error:
            raise PlantError(self.file, controller.entry, str(error)) from None
        return service

    def ranges(self, device: ModbusSpec) -> list[Range]:
        """*device*'s register ranges, parsed (each device gets its own store from them)."""
        ranges = self._ranges.get(device.registers)
        if ranges is None:
            try:
                ranges = [parse_range(text, default=0) for text in device.registers]
            except ValueError as error:
                raise PlantError(self.file, device.entry, str(error)) from None
            self._ranges[device.registers] = ranges
        return ranges
