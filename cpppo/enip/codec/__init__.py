"""EtherNet/IP and CIP, sans-IO: bytes in, records out; records in, bytes out.

Nothing under this package imports Twisted, opens a socket or reads a clock: the simulator, the
client and the tests all drive the same code with bytes (``cpppo.tests.test_enip_codec_sans_io``
checks the imports).  Records are frozen dataclasses; a decoder raises only
``RemoteProtocolError``, a builder only ``LocalProtocolError``.

The modules, from the vocabulary up:

- ``codes``: commands, CPF item types, services, classes and statuses as enums, and their
  meanings for people (``explain``, ``describe``).
- ``errors``: the two protocol errors, and ``short`` for data that ends too soon.
- ``encap``: the encapsulation frame (24-byte header, command data) and ``FrameParser``, which
  frames a byte stream; ``cpf``: the Common Packet Format items the command data carries.
- ``connection``: one side of a TCP connection, h11 style: bytes in, frames with their CIP
  messages decoded out.
- ``message``: the Message Router's request and reply records (the envelope every service
  travels in, importable from ``cip`` too).
- ``cip``: Multiple Service Packet, Get Attribute List, and the dispatch of request and reply
  bodies by service and target.
- ``connection_manager``: Unconnected Send, Forward Open, Forward Close.
- ``tag_services``: the Logix tag services (Read/Write Tag [Fragmented], Read Modify Write, Read
  Template).
- ``browse``: the Symbol and Template objects' replies (tag lists, structure definitions).
- ``segments``: EPATH segments as checked values; ``epath``: segments to wire bytes and back
  (request and route paths); ``tag_names``: tag names and the original's dict paths as segments.
- ``types``: the CIP elementary data types and strings, values to bytes and back.
- ``view``: the original cpppo's dotdict view of a reply frame.
"""
