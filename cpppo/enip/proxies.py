"""The original cpppo's ready-made device proxies: ``proxy_connected`` (requests over a Forward Open
connection) and the Allen-Bradley PowerFlex drives (``powerflex``, ``powerflex_750_series``) with
their parameter tables.

Why: the original's poll examples pass these classes to ``poll.poll(proxy_class=...)`` and read
drive parameters by name ("Motor Velocity", "Output Current").  They are thin subclasses of
:class:`~cpppo.enip.tools.proxy.proxy`: a PowerFlex is a simple device (no routing, no
Unconnected Send), whose parameters are attributes of its Parameter Object (class 0x93, attribute
10 of instance N is parameter N's value); ``proxy_connected`` opens a Forward Open connection
once and sends every request over it, instead of routing each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cpppo.enip.tools.proxy import parameter, proxy, proxy_simple

__all__ = ["proxy_connected", "powerflex", "powerflex_750_series"]


class proxy_connected(proxy):
    """A proxy whose requests go over one Forward Open connection (the original's "Implicit"
    proxy), to the device the route leads to; *connection_path* is that route (by default the
    controller's, backplane slot 0).  *configuration* (the original's config section) is accepted
    and not read."""

    def __init__(self, host: str, connection_path: Any = None, configuration: Any = None, **kwds: Any) -> None:
        kwds.pop("gateway_class", None)  # the original's connector class: the session here is always ours
        if connection_path is not None:
            kwds.setdefault("route_path", connection_path)
        super().__init__(host, connected=True, **kwds)


class powerflex(proxy_simple):
    """An Allen-Bradley PowerFlex AC drive: a simple CIP device (no routing)."""

    #: Make a parameter: ``powerflex.parameter("@0x93/7/10", "REAL", "Amps")``.
    parameter = parameter


def _p(instance: int, kind: str, units: str) -> parameter:
    """Parameter *instance* of the PowerFlex Parameter Object: its value is attribute 10."""
    return parameter(f"@0x93/{instance:3d}/10", kind, units)


class powerflex_750_series(powerflex):
    """The PowerFlex 750 series' parameters, by name (the drive manual's numbers)."""

    PARAMETERS: Mapping[str, parameter] = dict(
        powerflex.PARAMETERS,
        output_frequency=_p(1, "REAL", "Hz"),
        output_freq=_p(1, "REAL", "Hz"),
        mtr_vel_fdbk=_p(3, "REAL", "Hz/RPM"),    # in the Speed Units
        motor_velocity=_p(3, "REAL", "Hz/RPM"),
        output_current=_p(7, "REAL", "Amps"),
        output_voltage=_p(8, "REAL", "VAC"),
        output_power=_p(9, "REAL", "kW"),
        dc_bus_volts=_p(11, "REAL", "VDC"),
        elapsed_mwh=_p(13, "REAL", "MWh"),
        elapsed_kwh=_p(14, "REAL", "kWh"),
        elapsed_run_time=_p(15, "REAL", "Hrs"),
        rated_volts=_p(20, "REAL", "VAC"),
        rated_amps=_p(21, "REAL", "Amps"),
        rated_kw=_p(22, "REAL", "kW"),
        speed_units=_p(300, "DINT", "Hz/RPM"),   # 0: Hz, 1: RPM
    )
