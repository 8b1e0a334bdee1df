"""Polling remote PLCs: :mod:`cpppo.remote.plc` (the poller API, and a simulated PLC),
:mod:`cpppo.remote.plc_modbus` (Modbus/TCP and Modbus/RTU) and :mod:`cpppo.remote.io` (inputs,
outputs, their events, and devices such as a motor, over any poller).

Why a package: the original cpppo's users import ``cpppo.remote.plc_modbus``;
the name is kept, and the code under it now runs on the Twisted reactor.
"""
