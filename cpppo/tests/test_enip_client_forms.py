"""The client core's Logix forms, bytes only: a ClientCore talking to our simulator's controller in
memory (the core's bytes framed and handed to the simulator's dispatcher, its reply's bytes back),
with no socket, reactor or thread.

Why here and not only end to end: which requests the core sends for ``Flags.5=1`` (one Read Modify
Write, masks touching bit 5 alone), for a BOOL[] element (learnt once per connection), for a
``(STRING)`` write (the Logix form first) and for a UDT (the Symbol and Template objects, read once)
is the point of these forms, and is pinned here request by request.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import task
from twisted.trial import unittest

from cpppo.enip.client import forms
from cpppo.enip.client.core import ClientCore
from cpppo.enip.client.records import NEED_DATA, Delivered, Finished, Send
from cpppo.enip.client.shapes import MAX_REQUESTS, Shapes
from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import ClassCode, Service
from cpppo.enip.codec.connection import Connection, Role
from cpppo.enip.codec.epath import Logical, Symbolic
from cpppo.enip.simulator.controller.plc import Controller
from cpppo.enip.simulator.dispatch import Dispatcher
from cpppo.enip.simulator.loaders import tagfile
from cpppo.enip.simulator.router import Router
from cpppo.enip.simulator.transport import Link

from .resources import data_file


class Pair:
    """A ClientCore and a simulated controller joined in memory; ``sent`` is every CIP request the
    core sent (what its Unconnected Sends carried)."""

    def __init__(self) -> None:
        controller = Controller(task.Clock())
        controller.load_tags(tagfile.load([data_file("tagfile.toml")]))
        controller.add_tag("Flags", "DINT")
        controller.add_tag("Bits", "DWORD", 2)   # BOOL[64], as Logix (and our simulator) keep it
        controller.add_tag("Names", "STRING", 3)
        self.controller = controller
        self.dispatcher = Dispatcher(controller, Router(controller))
        self.link = Link("127.0.0.1", 5555, lambda: None)
        self.core = ClientCore(lambda: 0.0, timeout=5.0)
        self.server = Connection(Role.SERVER)   # the simulator's side of the stream
        self.sent: list[cip.Request] = []
        self.core.register()
        self.pump()

    def pump(self) -> list[Any]:
        """Run the exchange until the core needs nothing more; its events but the Sends."""
        events = []
        while True:
            event = self.core.next_event()
            if event is NEED_DATA:
                return events
            if not isinstance(event, Send):
                events.append(event)
                continue
            self.server.receive_data(event.data)
            frame = self.server.next_event()
            items = getattr(frame.body, "items", ())
            if items:
                self.sent.append(items[1].message.body.request)   # (inside its Unconnected Send)
            self.core.receive_data(self.server.send(self.dispatcher.handle(frame, self.link)))

    def run(self, operations: list[Any], **kwds: Any) -> list[Any]:
        self.sent.clear()
        self.core.start_run(operations, **kwds)
        events = self.pump()
        self.assertFinished(events)
        return [e.result for e in events if isinstance(e, Delivered)]

    @staticmethod
    def assertFinished(events: list[Any]) -> None:
        assert isinstance(events[-1], Finished) and events[-1].error is None, events[-1]


class Bits(unittest.TestCase):
    def test_a_bit_of_an_integer_is_one_read_modify_write_of_that_bit(self) -> None:
        pair = Pair()
        pair.controller.tags["Flags"][0] = 0x0F0F
        (result,) = pair.run(["Flags.5=1"])
        (request,) = pair.sent
        self.assertEqual((request.service, request.path), (Service.READ_MODIFY_WRITE, (Symbolic("Flags"),)))
        self.assertEqual(request.body, logix.ReadModifyWrite(b"\x20", b"\xff"))   # the smallest mask holding it
        self.assertEqual((result.sts, result.val), (0, True))
        (result,) = pair.run(["Flags.9=0"])
        self.assertEqual(pair.sent[0].body, logix.ReadModifyWrite(b"\0\0", b"\xff\xfd"))
        self.assertEqual(pair.controller.tags["Flags"][0], (0x0F0F | 0x20) & ~0x200)
        reads = pair.run(["Flags.5", "Flags.9", "Flags"], depth=3)
        self.assertEqual([r.val for r in reads], [[True], [False], [0x0D2F]])
        self.assertEqual([str(r.dsc) for r in reads][:2], ["Single Read  Tag  Flags.5", "Single Read  Tag  Flags.9"])

    def test_a_bit_takes_one_value_of_0_or_1(self) -> None:
        pair = Pair()
        pair.core.start_run(["Flags.5=(DINT)2"])
        (finished,) = pair.pump()
        self.assertIsInstance(finished.error, ValueError)
        self.assertEqual(pair.sent, [])

    def test_a_bit_of_a_member_takes_the_mask_its_integer_needs(self) -> None:
        pair = Pair()
        (result,) = pair.run(["Lines[1].Count.40=1"])   # a LINT member: an 8-byte mask
        self.assertEqual((result.sts, pair.sent[0].service), (0, Service.READ_MODIFY_WRITE))
        self.assertEqual(pair.sent[0].body, logix.ReadModifyWrite((1 << 40).to_bytes(8, "little"), b"\xff" * 8))
        reads = pair.run(["Lines[1].Count", "Lines[1].Count.40", "Motor1.Faults[1].1"], multiple=500)
        self.assertEqual([r.val for r in reads], [[1 << 40], [True], [True]])   # (Faults[1] is 2)

    def test_a_bit_of_what_is_no_integer_or_beyond_it_fails_as_its_write_would(self) -> None:
        """A bit of a REAL, a STRING or a structure is refused as the target refuses its write
        (0xFF/0x2107); a bit beyond the integer's size as invalid (0x03): never the whole value,
        never a wrong False, and the run goes on."""
        pair = Pair()
        for multiple in (0, 500):
            results = pair.run(["Motor1.Speed.3", "Names[0].2", "Motor1.5", "Flags.40", "Flags.31"],
                               structures=True, multiple=multiple)
            self.assertEqual([(r.sts, r.val) for r in results], [
                ((0xFF, [0x2107]), None), ((0xFF, [0x2107]), None), ((0xFF, [0x2107]), None), (0x03, None),
                (0, [False])], multiple)
        (written,) = pair.run(["Motor1.Speed.3=1"])   # the write's own refusal, from the target
        self.assertEqual(written.sts, (0xFF, [0x2107]))

    def test_a_bool_array_is_learnt_once_and_its_elements_are_bits_of_words(self) -> None:
        pair = Pair()
        (written,) = pair.run(["Bits[35]=1"])
        self.assertEqual(written.val, True)
        write, probe, rmw = pair.sent
        self.assertEqual(write.service, Service.WRITE_TAG)                 # refused: not an INT
        self.assertEqual((probe.path[-1], probe.body), (Logical("element", 1), logix.ReadTag(1)))
        self.assertEqual((rmw.service, rmw.path[-1], rmw.body), (Service.READ_MODIFY_WRITE, Logical("element", 1),
                                                                 logix.ReadModifyWrite(b"\x08", b"\xff")))
        self.assertEqual(pair.controller.tags["Bits"][1], 1 << 3)   # (the simulator's view: words)
        results = pair.run(["Bits[35]", "Bits[30-36]", "Bits[36]=1"])
        self.assertEqual([r.val for r in results], [[True], [False, False, False, False, False, True, False], True])
        self.assertEqual([(r.service, r.path[-1]) for r in pair.sent],   # known now: one request each
                         [(Service.READ_TAG, Logical("element", 1)), (Service.READ_TAG, Logical("element", 0)),
                          (Service.READ_MODIFY_WRITE, Logical("element", 1))])
        self.assertEqual(pair.sent[1].body, logix.ReadTag(2))

    def test_a_bool_array_element_written_inside_a_multiple_service_packet(self) -> None:
        pair = Pair()
        results = pair.run(["Flags=(DINT)3", "Bits[40]=1", "Bits[41]=(BOOL)true", "Flags"], multiple=500)
        self.assertEqual([(r.sts, r.val) for r in results], [(0, True), (0, True), (0, True), (0, [3])])
        self.assertEqual(pair.sent[0].service, Service.MULTIPLE_SERVICE_PACKET)   # all four in one packet,
        self.assertEqual([r.service for r in pair.sent[1:]],                     # then each refused write's bit
                         [Service.READ_TAG, Service.READ_MODIFY_WRITE, Service.READ_MODIFY_WRITE])   # (learnt once)
        self.assertEqual(pair.controller.tags["Bits"][1], 0b11 << 8)
        self.assertEqual([str(r.dsc) for r in results][1], "Multi. Write Tag  Bits[40-40]")

    def test_an_element_beyond_a_plain_array_is_still_its_failure(self) -> None:
        pair = Pair()
        (result,) = pair.run(["Lines[7]"])
        self.assertEqual(result.sts, (0xFF, [0x2105]))
        self.assertEqual(len(pair.sent), 2)   # (the word it would be in, were it a BOOL[])


class Strings(unittest.TestCase):
    def test_the_logix_form_first_and_learnt(self) -> None:
        pair = Pair()
        results = pair.run(["Names[1]=(STRING)pump", "Names[0-2]", "Names[2]=(STRING)two"])
        self.assertEqual([r.val for r in results], [True, ["", "pump", ""], True])
        body = pair.sent[0].body
        self.assertEqual((body.type, body.handle, len(body.data)), (0x02A0, 0x0FCE, 88))
        self.assertEqual(pair.core.shapes.string_forms, {(Symbolic("Names"),): 0x02A0})

    def test_the_cip_form_when_the_logix_form_is_refused(self) -> None:
        pair = Pair()
        pair.controller.add_tag("Short", "SSTRING")
        (result,) = pair.run(["Short=(SSTRING)hi"])
        self.assertEqual(result.val, True)
        self.assertEqual([r.body.type for r in pair.sent], [0x02A0, 0xDA])   # refused, then the CIP form
        results = pair.run(["Short=(SSTRING)again", "Short"])
        self.assertEqual([r.val for r in results], [True, ["again"]])
        self.assertEqual(pair.sent[0].body.type, 0xDA)                        # learnt: the CIP form alone


class Structures(unittest.TestCase):
    def test_templates_are_read_once_per_connection(self) -> None:
        pair = Pair()
        (motor,) = pair.run(["Motor1"], structures=True)
        self.assertEqual(motor.val, [{"Speed": 1.5, "Running": True, "Faulted": False, "Faults": [1, 2, 0, 0],
                                      "Label": "conveyor"}])
        classes = [r.path[0].value if isinstance(r.path[0], Logical) else None for r in pair.sent]
        self.assertEqual(classes[0], None)                                 # the read itself
        self.assertIn(ClassCode.SYMBOL, classes)
        self.assertIn(ClassCode.TEMPLATE, classes)
        (lines,) = pair.run(["Lines[0-2]"], structures=True)   # nested: Line holds a Motor, known already
        self.assertEqual([sorted(line) for line in lines.val], [["Count", "Motor"]] * 3)
        self.assertEqual(lines.val[0]["Motor"]["Faults"], [0, 0, 0, 0])
        self.assertEqual(len([r for r in pair.sent if r.path[0] == Logical("class", ClassCode.SYMBOL)]), 0)
        (raw,) = pair.run(["Motor1"])                          # not asked: the original's raw bytes
        self.assertEqual(raw.val[:4], [0, 0, 0xC0, 0x3F])
        self.assertEqual(len(pair.sent), 1)

    def test_a_bool_array_member_is_its_bits(self) -> None:
        """A BOOL[] member is a DWORD array in its template (as Logix lays it out): decoded to its
        bits, as pycomm3 decodes it, not to the words."""
        pair = Pair()
        pair.controller.load_tags(tagfile.load([data_file("logix_types.toml")]))   # (Panel1: a Panel)
        pair.run(["Panel1.Lamps[3]=1", "Panel1.Lamps[33]=1"])
        (panel,) = pair.run(["Panel1"], structures=True)
        lamps = panel.val[0]["Lamps"]
        self.assertEqual((len(lamps), [i for i, lamp in enumerate(lamps) if lamp], panel.val[0]["Code"]),
                         (64, [3, 33], 7))   # (two DWORDs: 64 bits, of which the type declares 40)

    def test_a_peer_paging_for_ever_is_cut_short(self) -> None:
        fetch = Shapes().fetch(0x1234)
        asked = 0
        while fetch.next_request() is not None:
            asked += 1
            page = browse.encode_symbol_instances([browse.SymbolInstance(fetch.symbol_start, "T", 0xC4)], (1, 2))
            fetch.feed(cip.Reply(0xD5, 0x06, data=page))   # "more to come", every time
        self.assertEqual(asked, MAX_REQUESTS)

    def test_a_template_that_cannot_be_found_leaves_the_bytes(self) -> None:
        pair = Pair()
        shapes = pair.core.shapes
        fetch = shapes.fetch(0x1234)
        asked = []
        while (request := fetch.next_request()) is not None:
            asked.append(request)
            fetch.feed(Router(pair.controller).guarded(request, 504))
        self.assertEqual(asked[0].path[0], Logical("class", ClassCode.SYMBOL))
        self.assertFalse(shapes.known(0x1234))
        self.assertIn(0x1234, shapes.unreadable)
        self.assertIsNone(forms.unknown_structure(
            cip.Reply(0xCC, body=logix.ReadTagReply(0x02A0, b"\0" * 4, 0x1234)), shapes))
