"""Sans-IO protocol codecs: bytes in, records out; records in, bytes out.

Nothing under this package imports Twisted, opens a socket or reads a clock:
the server, the client and the tests all drive the same code with bytes.
"""
