"""Polling remote PLCs: :mod:`cpppo.remote.plc_modbus` (Modbus/TCP and Modbus/RTU).

Why a package: the original cpppo's users import ``cpppo.remote.plc_modbus``;
the name is kept, and the code under it now runs on the Twisted reactor.
"""
