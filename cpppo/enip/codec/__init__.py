"""EtherNet/IP and CIP, sans-IO: bytes in, records out; records in, bytes out.

Nothing under this package imports Twisted, opens a socket or reads a clock: the simulator, the
client and the tests all drive the same code with bytes.  ``codes`` holds the vocabulary (commands,
services, classes, statuses) as enums; ``encap`` and ``connection`` frame the encapsulation
stream; ``cip``, ``tag_services``, ``browse`` and ``epath`` encode and decode CIP requests and
replies; ``types`` the CIP data types; ``view`` the original cpppo's dotdict view of a reply.
"""
