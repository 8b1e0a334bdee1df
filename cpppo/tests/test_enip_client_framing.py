"""The client's framing and reply cache, bytes only: the same frames as the DFA, at any split, for less.

Why: a client frames every reply it gets, so its connection frames by the header's length
(``encap.HeaderFramer``) instead of stepping the DFA the simulator uses, and keeps the command
data it decoded (a poller's replies repeat).  Both must be invisible: every captured reply stream
frames and decodes to exactly what the DFA makes of it, split anywhere, and a stream that cannot
be framed fails with the same encapsulation status.
"""

from __future__ import annotations

import unittest

from cpppo.enip.codec import encap
from cpppo.enip.codec.connection import CLOSED, NEED_DATA, Connection, Role
from cpppo.enip.codec.errors import RemoteProtocolError

from .enip_vectors import captured_frames


def replies() -> bytes:
    """Every captured reply frame, one stream."""
    return b"".join(f.data for f in captured_frames() if f.reply)


def frames_of(parser: encap.FrameParser, chunks: list[bytes]) -> list[encap.Frame]:
    out = []
    for chunk in chunks:
        out.extend(parser.frames(chunk))
    return out


class TestHeaderFramer(unittest.TestCase):
    def test_same_frames_as_the_dfa(self) -> None:
        stream = replies()
        expected = frames_of(encap.FrameParser(reply=True), [stream])
        self.assertGreater(len(expected), 20)
        self.assertEqual(frames_of(encap.HeaderFramer(), [stream]), expected)
        # in pieces of every size up to a header and a half, and byte by byte
        for size in (1, 2, 7, 23, 24, 25, 36):
            chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
            self.assertEqual(frames_of(encap.HeaderFramer(), chunks), expected, size)

    def test_every_split_of_one_reply(self) -> None:
        reply = next(f.data for f in captured_frames() if f.reply and len(f.data) > 40)
        for cut in range(len(reply) + 1):
            framer = encap.HeaderFramer()
            framer.receive_data(reply[:cut])
            self.assertEqual(framer.next_frame() is None, cut < len(reply), cut)
            framer.receive_data(reply[cut:])
            if cut < len(reply):
                self.assertEqual(framer.next_frame(), encap.decode_frame(reply, reply=True), cut)
            self.assertIsNone(framer.next_frame())
            self.assertEqual(framer.buffered, 0)

    def test_unframeable_streams_fail_as_the_dfa_does(self) -> None:
        reply = next(f.data for f in captured_frames() if f.reply and len(f.data) > 40)
        too_long = reply[:2] + (encap.MAX_LENGTH + 1).to_bytes(2, "little") + reply[4:24]
        for data, status in ((too_long, encap.INVALID_LENGTH), (reply[:30], encap.INCORRECT_DATA),
                             (reply[:10], encap.INCORRECT_DATA)):
            for parser in (encap.FrameParser(reply=True), encap.HeaderFramer()):
                with self.subTest(parser=type(parser).__name__, size=len(data)):
                    with self.assertRaises(RemoteProtocolError) as caught:
                        parser.receive_data(data)
                        parser.receive_data(b"")
                        parser.next_frame()
                    self.assertEqual(caught.exception.encap_status, status)

    def test_a_clean_end(self) -> None:
        connection = Connection(Role.CLIENT)
        self.assertIs(connection.next_event(), NEED_DATA)
        connection.receive_data(b"")
        self.assertIs(connection.next_event(), CLOSED)


class TestReplyCache(unittest.TestCase):
    def test_repeated_replies_share_their_decoded_data(self) -> None:
        reply = next(f.data for f in captured_frames() if f.reply and f.data[:2] == b"\x6f\x00")
        connection = Connection(Role.CLIENT)
        again = reply[:12] + b"another!" + reply[20:]
        connection.receive_data(reply + again)
        first, second = connection.next_event(), connection.next_event()
        self.assertEqual(first, encap.decode_frame(reply, reply=True))
        self.assertEqual(second.context, b"another!")
        self.assertIs(second.body, first.body)   # decoded once
        self.assertEqual(connection.frames_received, 2)

    def test_without_the_cache_every_reply_is_decoded(self) -> None:
        reply = next(f.data for f in captured_frames() if f.reply and f.data[:2] == b"\x6f\x00")
        connection = Connection(Role.CLIENT, cache=False)
        connection.receive_data(reply + reply)
        first, second = connection.next_event(), connection.next_event()
        self.assertEqual(first, second)
        self.assertIsNot(first.body, second.body)


if __name__ == "__main__":
    unittest.main()
