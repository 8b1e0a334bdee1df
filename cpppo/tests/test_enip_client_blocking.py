"""The blocking connector's waits and views against a scripted peer: a timeout on time, shared views.

Why: the connector waits for replies with the socket's own receive timeout (a one-second slice, so
most reads need no poll first) and polls only for the rest of a wait, so a timeout longer than the
slice must still fire when it is due; and the dotdict views it hands out are made once per reply
record, so results with the same reply share a view while each keeps its own value list.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import unittest
from typing import Any

from cpppo.enip.client import connector as connector_module
from cpppo.enip.client.connector import connector
from cpppo.enip.client.errors import RequestTimeout

HEADER = struct.Struct("<HHII8sI")
# A Read Tag reply (INT [7]) in SendRRData: interface, timeout, 2 items (null address, data).
READ_REPLY = (struct.pack("<IHH", 0, 0, 2) + struct.pack("<HH", 0, 0) + struct.pack("<HH", 0xB2, 8)
              + bytes([0xCC, 0, 0, 0]) + struct.pack("<Hh", 0xC3, 7))


class Peer:
    """A TCP peer that registers a session and then answers reads (or, ``silent``, nothing)."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            buffer = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while len(buffer) >= HEADER.size:
                    command, length, session, _, context, _ = HEADER.unpack_from(buffer)
                    if len(buffer) < HEADER.size + length:
                        break
                    body, buffer = buffer[HEADER.size:HEADER.size + length], buffer[HEADER.size + length:]
                    if command == 0x65:
                        conn.sendall(HEADER.pack(command, length, 0x1234, 0, context, 0) + body)
                    elif command == 0x6F and not self.silent:
                        conn.sendall(HEADER.pack(command, len(READ_REPLY), session, 0, context, 0) + READ_REPLY)

    def close(self) -> None:
        self.listener.close()


class TestWaits(unittest.TestCase):
    def test_a_timeout_longer_than_the_slice_fires_when_due(self) -> None:
        peer = Peer(silent=True)
        self.addCleanup(peer.close)
        self.assertEqual(connector_module._SLICE, 1.0)
        with connector(host="127.0.0.1", port=peer.port, timeout=1.6) as conn:
            start = time.monotonic()
            with self.assertRaises(RequestTimeout):
                list(conn.pipeline(["SCADA[1]"]))
            self.assertGreaterEqual(time.monotonic() - start, 1.55)
            self.assertLess(time.monotonic() - start, 2.5)

    def test_a_short_timeout(self) -> None:
        peer = Peer(silent=True)
        self.addCleanup(peer.close)
        with connector(host="127.0.0.1", port=peer.port, timeout=0.3) as conn:
            start = time.monotonic()
            with self.assertRaises(RequestTimeout):
                list(conn.pipeline(["SCADA[1]"]))
            self.assertLess(time.monotonic() - start, 0.9)


class TestViews(unittest.TestCase):
    def test_equal_replies_share_a_view_and_keep_their_values(self) -> None:
        peer = Peer(silent=False)
        self.addCleanup(peer.close)
        with connector(host="127.0.0.1", port=peer.port, timeout=5) as conn:
            results: list[Any] = list(conn.pipeline(["SCADA[1]"] * 3))
        self.assertEqual([r[5] for r in results], [[7], [7], [7]])
        first, second = results[0], results[1]
        self.assertIs(first[3], second[3])   # the same reply record: one view
        self.assertEqual(first[3].read_tag.data, [7])
        self.assertEqual(first[3].status, 0)
        self.assertIsNot(first[5], second[5])   # each result's value is its own
        first[5].append(99)
        self.assertEqual(second[5], [7])


if __name__ == "__main__":
    unittest.main()
