"""The sans-IO client core, bytes only: golden frames in, bytes and results out, time from a fake clock.

Why: the core is the one protocol implementation behind both drivers (the Deferred API and the
blocking connector), so its behaviour is pinned here with no socket, reactor or thread: replies
captured from the original cpppo 5.2.5 simulator (``cpppo/tests/vectors/enip``) answer the core's
requests, split at every byte; deadlines are data the test acts on by moving its clock.
"""

from __future__ import annotations

import struct
import unittest
from typing import Any

from cpppo.enip.client import plan
from cpppo.enip.client.core import ClientCore
from cpppo.enip.client.errors import ConnectionClosed, EncapsulationError, RequestTimeout
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.records import NEED_DATA, Answered, Broken, Delivered, Finished, Send
from cpppo.enip.codec import cip, encap
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.errors import RemoteProtocolError

from .enip_vectors import captured_frames


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def vector(source: str) -> tuple[list[bytes], list[bytes]]:
    """(client frames, server frames) of one captured conversation."""
    frames = [f for f in captured_frames() if f.source == source]
    return [f.data for f in frames if not f.reply], [f.data for f in frames if f.reply]


def answering(reply: bytes, request: bytes) -> bytes:
    """A captured reply made to answer *request*: its sender context (the session is the capture's)."""
    return reply[:12] + request[12:20] + reply[20:]


def unconnected_send(data: bytes) -> Any:
    """The Unconnected Send inside a SendRRData frame."""
    return cip.decode_request(encap.decode_frame(data).body.items[1].message).body


def sent_request(data: bytes) -> cip.Request:
    """The CIP request inside a SendRRData frame the core sent (inside its Unconnected Send)."""
    return unconnected_send(data).request


def drain(core: ClientCore) -> list[Any]:
    events = []
    while (event := core.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def sends(events: list[Any]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, Send)]


def registered(clock: Clock | None = None, timeout: float | None = None) -> tuple[ClientCore, bytes]:
    """A core whose RegisterSession the capture's reply answered; and that reply."""
    requests, replies = vector("cpppo525-dint")
    core = ClientCore(clock or Clock(), timeout=timeout)
    ticket = core.register()
    (sent,) = sends(drain(core))
    assert sent[24:] == requests[0][24:]              # RegisterSession protocol 1, as the original sends it
    core.receive_data(answering(replies[0], sent))
    (answer,) = drain(core)
    assert isinstance(answer, Answered) and answer.ticket is ticket and answer.error is None
    return core, replies[0]


class GoldenFrames(unittest.TestCase):
    def test_register_then_write_and_read_as_the_original(self) -> None:
        requests, replies = vector("cpppo525-dint")
        core, _ = registered()
        self.assertEqual(core.session, struct.unpack_from("<I", replies[0], 4)[0])
        run = core.start_run(["COUNT[0-1]=(DINT)70000,-5", "COUNT[0-3]"], depth=2)
        write, read = sends(drain(core))
        # the requests are the original client's, byte for byte, and so are the header (but the sender
        # context) and the route; only the time-outs inside differ (ours 5 s, and 10 x 2^10 ms ticks)
        for ours, theirs in ((write, requests[1]), (read, requests[2])):
            self.assertEqual(ours[:12], theirs[:12])
            self.assertEqual(sent_request(ours).encode(), sent_request(theirs).encode())
            self.assertEqual(unconnected_send(ours).route, unconnected_send(theirs).route)
        core.receive_data(answering(replies[1], write) + answering(replies[2], read))
        events = drain(core)
        results = [e.result for e in events if isinstance(e, Delivered)]
        self.assertEqual([(r.sts, r.val) for r in results], [(0, True), (0, [70000, -5, 0, 0])])
        self.assertEqual([str(r.dsc) for r in results],
                         ["Single Write Tag  COUNT[0-1]", "Single Read  Tag  COUNT[0-3]"])
        self.assertEqual(events[-1], Finished(run, None))

    def test_every_split_of_a_reply_across_reads(self) -> None:
        core, _ = registered()
        _, replies = vector("cpppo525-dint")
        for split in range(1, len(replies[2])):   # (b"" would be the end of the stream)
            run = core.start_run(["COUNT[0-3]"])
            (read,) = sends(drain(core))
            reply = answering(replies[2], read)
            core.receive_data(reply[:split])
            self.assertEqual(drain(core), [], split)
            core.receive_data(reply[split:])
            events = drain(core)
            self.assertEqual([e.result.val for e in events if isinstance(e, Delivered)], [[70000, -5, 0, 0]], split)
            self.assertEqual(events[-1], Finished(run, None))

    def test_byte_at_a_time_and_two_replies_in_one_read(self) -> None:
        core, _ = registered()
        _, replies = vector("cpppo525-dint")
        run = core.start_run(["COUNT[0-3]"] * 3, depth=3)
        reads = sends(drain(core))
        self.assertEqual(len(reads), 3)                    # depth 3: all three in flight
        stream = b"".join(answering(replies[2], r) for r in reads)
        got = []
        for byte in stream[:-1]:
            core.receive_data(bytes([byte]))
            got += [e.result.idx for e in drain(core) if isinstance(e, Delivered)]
        self.assertEqual(got, [0, 1])
        core.receive_data(stream[-1:])
        events = drain(core)
        self.assertEqual([e.result.idx for e in events if isinstance(e, Delivered)], [2])
        self.assertEqual(events[-1], Finished(run, None))

    def test_list_identity_and_services_replies(self) -> None:
        core, _ = registered()
        for source in ("cpppo525-list-identity", "cpppo525-list-services"):
            _, replies = vector(source)
            command = struct.unpack_from("<H", replies[-1])[0]
            ticket = core.list_request(command)
            (sent,) = sends(drain(core))
            core.receive_data(answering(replies[-1], sent))
            (answer,) = drain(core)
            self.assertIs(answer.ticket, ticket)
            self.assertTrue(answer.frame.body.items, source)


class Pipeline(unittest.TestCase):
    """The pipeline's rules, against replies made by the codec."""

    def reply(self, request: bytes, data: bytes = b"\x07\x00", status: int = 0) -> bytes:
        rpy = cip.Reply(0xCC, status, (), body=logix.ReadTagReply(0xC3, data))
        body = encap.SendData((encap.NullAddress(), encap.UnconnectedData(rpy)))
        return encap.encode_frame(encap.Frame(Command.SEND_RR_DATA, body, 1, context=request[12:20]))

    def test_depth_one_sends_the_next_before_decoding_once_a_read_is_known_to_fit(self) -> None:
        core, _ = registered()
        sent_at_decode: list[int] = []
        sent: list[bytes] = []
        decode = core.connection.decode

        def noting(framed: Any) -> Any:
            sent_at_decode.append(len(sent))
            return decode(framed)
        core.connection.decode = noting   # type: ignore[method-assign]

        def step() -> list[Any]:   # (each Send noted as it comes out, as a driver writes it)
            values = []
            while (event := core.next_event()) is not NEED_DATA:
                if isinstance(event, Send):
                    sent.append(event.data)
                elif isinstance(event, Delivered):
                    values.append(event.result.val)
            return values
        rounds, values = [], []
        for _ in range(3):
            del sent_at_decode[:], sent[:]
            core.start_run(["SCADA[1]"] * 3)
            step()
            answered = 0
            while answered < len(sent):
                core.receive_data(self.reply(sent[answered]))
                answered += 1
                values += step()
            rounds.append(list(sent_at_decode))
        # the first time, each reply is decoded before the next request goes (it might have been
        # partial); once known to fit (from the third read on: the second was staged before the
        # first reply came), a reply is decoded after the next request went, and learnt, and the
        # replies in its very bytes are not decoded at all (the steady path)
        self.assertEqual(rounds, [[1, 2, 3], [], []])
        self.assertEqual(values, [[7]] * 9)

    def test_multiple_service_packet(self) -> None:
        core, _ = registered()
        run = core.start_run([f"SCADA[{i}]" for i in range(10)], depth=1, multiple=500)
        (packet,) = sends(drain(core))
        inner = sent_request(packet)
        self.assertEqual(inner.service, plan.MULTIPLE)
        self.assertEqual(len(inner.body.requests), 10)
        replies = tuple(cip.Reply(0xCC, 0, (), body=logix.ReadTagReply(0xC3, struct.pack("<h", i))) for i in range(10))
        rpy = cip.Reply(0x8A, 0, (), body=cip.MultipleServiceReply(replies))
        body = encap.SendData((encap.NullAddress(), encap.UnconnectedData(rpy)))
        core.receive_data(encap.encode_frame(encap.Frame(Command.SEND_RR_DATA, body, 1, context=packet[12:20])))
        events = drain(core)
        self.assertEqual([e.result.val for e in events if isinstance(e, Delivered)], [[i] for i in range(10)])
        self.assertEqual(events[-1], Finished(run, None))

    def test_partial_read_fetches_the_rest(self) -> None:
        core, _ = registered()
        run = core.start_run(["SCADA[0-3]"])
        (first,) = sends(drain(core))
        core.receive_data(self.reply(first, b"\x01\x00\x02\x00", status=0x06))
        (rest,) = sends(drain(core))
        follow = sent_request(rest)
        self.assertEqual((follow.service, follow.body.offset, follow.body.elements), (plan.READ_FRAG, 4, 4))
        core.receive_data(self.reply(rest, b"\x03\x00\x04\x00"))
        events = drain(core)
        self.assertEqual([e.result.val for e in events if isinstance(e, Delivered)], [[1, 2, 3, 4]])
        self.assertEqual(events[-1], Finished(run, None))

    def test_encapsulation_status_stops_the_run(self) -> None:
        core, _ = registered()
        run = core.start_run(["SCADA[1]", "SCADA[2]"])
        (first,) = sends(drain(core))
        spoiled = bytearray(self.reply(first))
        spoiled[8:12] = struct.pack("<I", 1)
        core.receive_data(bytes(spoiled))
        events = drain(core)
        self.assertEqual(sends(events), [])               # the staged second read never goes
        (finished,) = events
        self.assertIsInstance(finished.error, EncapsulationError)
        self.assertIs(finished.run, run)


def counting_decodes(core: ClientCore) -> list[int]:
    """A count (its one item) of the replies *core*'s connection decodes from now on."""
    decodes = [0]
    decode = core.connection.decode

    def counting(framed: Any) -> Any:
        decodes[0] += 1
        return decode(framed)
    core.connection.decode = counting   # type: ignore[method-assign]
    return decodes


class Steady(unittest.TestCase):
    """The steady path (batch.Repeat, records.Echo): a plain read's reply in the last good reply's
    bytes is delivered from what was decoded then; every other reply must be decoded, and an unusual
    one carried on by the general path.  Each test fails if the steady path answers a reply that
    differs with the remembered value."""

    def reply(self, request: bytes, data: bytes = b"\x07\x00", status: int = 0, kind: int = 0xC3) -> bytes:
        return Pipeline.reply(self, request, data, status) if kind == 0xC3 else encap.encode_frame(encap.Frame(
            Command.SEND_RR_DATA, encap.SendData((encap.NullAddress(), encap.UnconnectedData(
                cip.Reply(0xCC, status, (), body=logix.ReadTagReply(kind, data))))), 1, context=request[12:20]))

    def steady(self) -> tuple[ClientCore, list[int]]:
        """A core that read SCADA[1] (7) three times, so its Echo is learnt; and a count of decodes."""
        core, _ = registered()
        decodes = counting_decodes(core)
        for _ in range(3):
            self.assertEqual(self.read(core), [(0, [7])])
        decodes[0] = 0
        return core, decodes

    def read(self, core: ClientCore, *replies: dict[str, Any], count: int = 1) -> list[tuple[Any, Any]]:
        """Run SCADA[1] *count* times at depth *count*, each request answered by self.reply(**one of
        replies*) (default: 7, the steady value) as it goes; the results' (status, value)."""
        run = core.start_run(["SCADA[1]"] * count, depth=count)
        results, waiting = [], sends(drain(core))
        answers = list(replies) or [{}] * count
        while waiting:
            core.receive_data(self.reply(waiting.pop(0), **(answers.pop(0) if answers else {})))
            events = drain(core)
            waiting += sends(events)
            results += [(e.result.sts, e.result.val) for e in events if isinstance(e, Delivered)]
        self.assertTrue(run.finished)
        self.assertIsNone(run.error)
        return results

    def test_the_same_bytes_are_not_decoded(self) -> None:
        core, decodes = self.steady()
        self.assertEqual(self.read(core, count=3), [(0, [7])] * 3)
        self.assertEqual(decodes, [0])

    def test_a_changed_value_is_decoded_and_learnt(self) -> None:
        core, decodes = self.steady()
        self.assertEqual(self.read(core, {"data": b"\x08\x00"}), [(0, [8])])
        self.assertEqual(self.read(core, {"data": b"\x08\x00"}), [(0, [8])])   # (now the echo)
        self.assertEqual(self.read(core), [(0, [7])])
        self.assertEqual(decodes, [2])

    def test_a_changed_length_is_decoded(self) -> None:
        core, decodes = self.steady()
        self.assertEqual(self.read(core, {"data": b"\x07\x00\x09\x00"}), [(0, [7, 9])])
        self.assertEqual(self.read(core, {"data": b"\x07\x00\x09\x00\x0b\x00"}), [(0, [7, 9, 11])])
        self.assertEqual(decodes, [2])

    def test_another_type_is_decoded(self) -> None:
        core, _ = self.steady()
        self.assertEqual(self.read(core, {"data": b"\x07\x00\x00\x00", "kind": 0xC4}), [(0, [7])])
        self.assertEqual(self.read(core, {"data": b"\x00\x00\xe0\x40", "kind": 0xCA}), [(0, [7.0])])

    def test_an_error_status_is_the_result_and_the_read_is_planned_again(self) -> None:
        core, decodes = self.steady()
        self.assertEqual(self.read(core, {"data": b"", "status": 0x05}), [(5, None)])
        self.assertEqual(self.read(core, count=2), [(0, [7])] * 2)
        self.assertEqual(decodes, [3])   # (the error; then, no longer known to fit, the next read's reply)

    def test_a_partial_reply_fetches_the_rest(self) -> None:
        core, _ = self.steady()
        run = core.start_run(["SCADA[1]"])
        (first,) = sends(drain(core))
        core.receive_data(self.reply(first, b"\x07", status=0x06))
        events = drain(core)
        self.assertFalse([e for e in events if isinstance(e, Delivered)])
        (rest,) = sends(events)
        follow = sent_request(rest)
        self.assertEqual((follow.service, follow.body.offset, follow.body.elements), (plan.READ_FRAG, 1, 1))
        core.receive_data(self.reply(rest, b"\x01"))
        events = drain(core)
        self.assertEqual([e.result.val for e in events if isinstance(e, Delivered)], [[0x107]])
        self.assertEqual(events[-1], Finished(run, None))

    def test_an_encapsulation_status_fails_the_run(self) -> None:
        core, _ = self.steady()
        run = core.start_run(["SCADA[1]"] * 2)
        (first,) = sends(drain(core))
        spoiled = bytearray(self.reply(first))
        spoiled[8:12] = struct.pack("<I", 0x65)
        core.receive_data(bytes(spoiled))
        (finished,) = drain(core)
        self.assertIs(finished.run, run)
        self.assertIsInstance(finished.error, EncapsulationError)

    def test_replies_out_of_order_are_delivered_in_order(self) -> None:
        core, _ = self.steady()
        run = core.start_run(["SCADA[1]"] * 3, depth=3)
        first, second, third = sends(drain(core))
        core.receive_data(self.reply(third, b"\x03\x00") + self.reply(second) + self.reply(first, b"\x01\x00"))
        events = drain(core)
        self.assertEqual([(e.result.idx, e.result.val) for e in events if isinstance(e, Delivered)],
                         [(0, [1]), (1, [7]), (2, [3])])
        self.assertEqual(events[-1], Finished(run, None))

    def test_on_a_connection_all_but_the_sequence_count_is_compared(self) -> None:
        core, _ = registered()
        core.connection_id = 0x1234   # (as a Forward Open leaves it: requests go as SendUnitData)
        decodes = counting_decodes(core)

        def read(data: bytes = b"\x07\x00", status: int = 0, echoed: int = 0) -> list[Any]:
            """One SCADA[1]; the reply carries the request's sequence count (plus *echoed*)."""
            run = core.start_run(["SCADA[1]"])
            (sent,) = sends(drain(core))
            sequence = encap.decode_frame(sent).body.items[1].sequence
            rpy = cip.Reply(0xCC, status, (), body=logix.ReadTagReply(0xC3, data))
            body = encap.SendData((encap.ConnectedAddress(0x5678), encap.ConnectedData(sequence + echoed, rpy)))
            core.receive_data(encap.encode_frame(encap.Frame(Command.SEND_UNIT_DATA, body, 1)))
            events = drain(core)
            return [(e.result.sts, e.result.val) for e in events if isinstance(e, Delivered)] + \
                [type(e.error).__name__ for e in events if isinstance(e, Finished) and e.error] + \
                ([] if run.finished else ["waiting"])
        for _ in range(3):
            self.assertEqual(read(), [(0, [7])])
        # a connected request staged from its kept bytes is the frame message() lays out
        (op,) = parse_operations(["SCADA[1]"])
        staged = core.stage(plan.read_request(plan.segments(op), 1, None))
        frame = encap.decode_frame(staged.data)
        self.assertEqual(staged.data, encap.encode_frame(encap.Frame(Command.SEND_UNIT_DATA, encap.SendData((
            encap.ConnectedAddress(0x1234), encap.ConnectedData(staged.key, frame.body.items[1].message))),
            core.session, context=frame.context)))
        decodes[0] = 0
        self.assertEqual(read(), [(0, [7])])
        self.assertEqual(decodes, [0])                            # (the steady path)
        self.assertEqual(read(b"\x08\x00"), [(0, [8])])
        self.assertEqual(read(b"", status=0x05), [(5, None)])
        self.assertEqual(decodes, [2])
        for _ in range(3):
            self.assertEqual(read(), [(0, [7])])
        self.assertEqual(read(echoed=1), ["waiting"])              # another sequence count: not its reply

    def test_a_late_reply_is_dropped(self) -> None:
        clock = Clock()
        core, _ = registered(clock, timeout=1.0)
        for _ in range(3):
            self.assertEqual(self.read(core), [(0, [7])])
        run = core.start_run(["SCADA[1]"])
        (first,) = sends(drain(core))
        clock.now += 2
        core.expire()
        (finished,) = drain(core)
        self.assertIsInstance(finished.error, RequestTimeout)
        core.receive_data(self.reply(first))
        self.assertEqual(drain(core), [])
        self.assertTrue(run.finished)


class Time(unittest.TestCase):
    def test_deadlines_are_data_and_the_clock_expires_them(self) -> None:
        clock = Clock()
        core, _ = registered(clock, timeout=2.0)
        core.start_run(["SCADA[1]", "SCADA[2]=(INT)3"])
        (send,) = [e for e in drain(core) if isinstance(e, Send)]
        self.assertEqual(send.deadline, clock.now + 2.0)
        self.assertEqual(core.next_deadline(), clock.now + 2.0)
        clock.now += 1.999
        core.expire()
        self.assertEqual(drain(core), [])
        clock.now += 0.001
        core.expire()
        (finished,) = drain(core)                         # the write waiting behind it never goes
        self.assertIsInstance(finished.error, RequestTimeout)
        self.assertEqual(str(finished.error), "no reply within 2 s")
        self.assertIsNone(core.next_deadline())
        core.receive_data(Pipeline().reply(send.data))   # the late reply is dropped
        self.assertEqual(drain(core), [])
        self.assertIsNone(core.closed)                    # and the session stays usable

    def test_a_waiting_request_times_out_from_its_sending(self) -> None:
        clock = Clock()
        core, _ = registered(clock, timeout=1.0)
        core.start_run(["SCADA[1]", "SCADA[2]"])
        (first,) = sends(drain(core))
        clock.now += 0.9
        core.receive_data(Pipeline().reply(first))
        (second,) = [e for e in drain(core) if isinstance(e, Send)]
        self.assertAlmostEqual(second.deadline, clock.now + 1.0)


class Loss(unittest.TestCase):
    def test_a_lost_connection_fails_what_is_outstanding_and_what_follows(self) -> None:
        core, _ = registered()
        run = core.start_run(["SCADA[1]"] * 5, depth=5)
        drain(core)
        core.receive_data(b"")
        (finished,) = drain(core)
        self.assertIsInstance(finished.error, ConnectionClosed)
        later = core.start_run(["SCADA[1]"])
        self.assertIsInstance(drain(core)[-1].error, ConnectionClosed)
        self.assertIsNot(later, run)
        ticket = core.list_request(Command.LIST_IDENTITY)
        (answer,) = drain(core)
        self.assertIs(answer.ticket, ticket)
        self.assertIsInstance(answer.error, ConnectionClosed)

    def test_a_stream_that_cannot_be_framed_is_broken(self) -> None:
        core, _ = registered()
        core.start_run(["SCADA[1]"])
        drain(core)
        core.receive_data(struct.pack("<HHII8sI", 0x6F, 0xFFFF, 1, 0, bytes(8), 0))
        events = drain(core)
        self.assertIsInstance(events[-1], Broken)
        self.assertIsInstance(events[0].error, RemoteProtocolError)
