"""Modbus/TCP and Modbus/RTU on the Twisted reactor.

Why a package of its own: the original cpppo wrapped pymodbus and patched its
framers, timeouts and data blocks.  Here the framing (:mod:`.framing`), the
sparse data store (:mod:`.datastore`), the device logic (:mod:`.device`) and
the Twisted protocols (:mod:`.server`, :mod:`.client`) are ours; pymodbus only
encodes and decodes PDUs (:mod:`.pdu`).

Import the submodules you need; this package imports nothing at load time so
that ``import cpppo.modbus.ranges`` stays cheap (and Twisted-free).
"""
