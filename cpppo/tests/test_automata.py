"""The DFA framework: the original's documented examples, chunked feeding, and bulk fields."""

from __future__ import annotations

import struct
import unittest
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import cpppo
from cpppo.automata import NEED_DATA, Feeder


def ab_plus() -> cpppo.state:
    """E -> A -a-> B -b-> B(terminal): the documentation's basic machine."""
    E = cpppo.state("E")
    A = cpppo.state_input("A")
    B = cpppo.state_input("B", terminal=True)
    E["a"] = A
    A["b"] = B
    B["b"] = B
    return E


def csv_of_ab_plus() -> cpppo.dfa:
    """ab+ separated by ',[ ]*', separators dropped: the documentation's composite machine."""
    CSV = cpppo.dfa("CSV", initial=ab_plus(), terminal=True)
    SEP = cpppo.state_drop("SEP")
    CSV[","] = SEP
    SEP[" "] = SEP
    SEP[None] = CSV
    return cpppo.dfa("csv", initial=CSV, terminal=True)


def run_whole(machine: cpppo.state, text: Any, path: str = "") -> tuple[cpppo.dotdict, Any]:
    source = cpppo.chainable(text)
    data = cpppo.dotdict()
    for _ in machine.run(source=source, path=path, data=data):
        pass
    return data, source


def run_chunked(machine: cpppo.state, chunks: Iterable[Any], path: str = "") -> tuple[cpppo.dotdict, Any]:
    """Run the generator protocol, chaining the next chunk whenever the machine starves."""
    source = cpppo.chainable()
    data = cpppo.dotdict()
    pending = iter(chunks)
    for _, target in machine.run(source=source, path=path, data=data):
        if target is None and source.starved:
            chunk = next(pending, None)
            if chunk is not None:
                source.chain(chunk)
    return data, source


def outcome(fn: Any, *args: Any) -> tuple:
    """What a run produced, comparable across feeding strategies."""
    try:
        data, source = fn(*args)
    except cpppo.NonTerminal:
        return ("NonTerminal",)
    return ("ok", sorted((k, str(v)) for k, v in data.items()), source.sent)


def splits(text: Any) -> Iterable[list[Any]]:
    """The text whole, then split at every single point, then at every pair of points."""
    yield [text]
    for i in range(1, len(text)):
        yield [text[:i], text[i:]]
    for i in range(1, len(text)):
        for j in range(i + 1, len(text)):
            yield [text[:i], text[i:j], text[j:]]


class TestSources(unittest.TestCase):
    def test_chaining_and_peeking(self) -> None:
        i = cpppo.chaining()
        self.assertIs(cpppo.chainable(i), i)
        with self.assertRaises(StopIteration):
            next(i)
        p = cpppo.peekable("123")
        self.assertIs(cpppo.peekable(p), p)
        self.assertEqual(list(p), ["1", "2", "3"])
        self.assertEqual(p.sent, 3)
        p.push("x")
        self.assertEqual(p.sent, 2)
        self.assertEqual(list(p), ["x"])
        i.chain("abc")
        i.chain("")
        i.chain("123")
        self.assertEqual(list(i), list("abc123"))
        self.assertEqual(i.sent, 6)
        i.chain("y")
        i.push("x")
        self.assertEqual(list(i), ["x", "y"])
        i.chain(None)
        with self.assertRaises(TypeError):
            next(i)
        with self.assertRaises(TypeError):  # the terminator persists
            i.peek()

    def test_remembering(self) -> None:
        r = cpppo.rememberable("123")
        self.assertEqual(next(r), "1")
        self.assertEqual(r.memory, ["1"])
        with self.assertRaises(AssertionError):
            r.push("x")
        r.push("1")
        self.assertEqual((r.sent, r.memory), (0, []))
        self.assertEqual(list(r), ["1", "2", "3"])
        self.assertEqual(r.memory, ["1", "2", "3"])

    def test_take_across_chunks_and_starving(self) -> None:
        s = cpppo.chaining(b"\x01\x02")
        self.assertEqual(s.peek(), 1)
        self.assertIsNone(s.take(3))
        self.assertTrue(s.starved)
        self.assertEqual(s.sent, 0)
        s.chain(bytearray(b"\x03"))
        self.assertFalse(s.starved)
        s.chain(b"\x04\x05")
        self.assertEqual(s.take(3), b"\x01\x02\x03")
        s.push(3)
        self.assertEqual(s.take(2), b"\x03\x04")
        self.assertEqual(s.sent, 4)
        self.assertEqual(s.available(), 1)
        self.assertEqual(list(s), [5])

    def test_take_from_an_iterator_chunk(self) -> None:
        s = cpppo.chaining(iter("ab"))
        self.assertIsNone(s.take(3))
        self.assertEqual(s.sent, 0)
        s.chain("c")
        self.assertEqual("".join(s.take(3)), "abc")


class TestDotdict(unittest.TestCase):
    def test_dotted_keys_and_attributes(self) -> None:
        d = cpppo.dotdict()
        d["a.b.c"] = 1
        self.assertEqual(d.a.b.c, 1)
        self.assertEqual(d["a.b"]["c"], 1)
        self.assertIn("a.b", d)
        self.assertNotIn("a.x", d)
        self.assertEqual(list(d), ["a.b.c"])
        self.assertEqual(d["a.x..b.c"], 1)
        d.a.e = 2
        self.assertEqual(sorted(d.keys()), ["a.b.c", "a.e"])
        self.assertEqual(d.setdefault("a.f", 3), 3)
        self.assertEqual(d.get("a.zz", "none"), "none")
        self.assertEqual(d.pop("a.f"), 3)

    def test_lists_of_dotdicts(self) -> None:
        d = cpppo.dotdict()
        d.item = [cpppo.dotdict(), cpppo.dotdict()]
        d["item[1].length"] = 4
        self.assertEqual(d.item[1].length, 4)
        self.assertEqual(d["item[1].length"], 4)
        self.assertIn("item[1].length", list(d))

    def test_constructor_and_missing_attribute(self) -> None:
        d = cpppo.dotdict({"x.y": 1}, z=2)
        self.assertEqual((d.x.y, d.z), (1, 2))
        with self.assertRaises(AttributeError):
            _ = d.nothing


class TestDocumentedMachines(unittest.TestCase):
    def test_basic_machine_greedy(self) -> None:
        machine = cpppo.dfa("ab+", initial=ab_plus())
        data, source = run_whole(machine, "abbb,ab", path="ab")
        self.assertEqual(data.ab.input.tounicode(), "abbb")
        self.assertEqual(source.peek(), ",")

    def test_basic_machine_not_greedy(self) -> None:
        machine = cpppo.dfa("ab+", initial=ab_plus(), greedy=False)
        data, source = run_whole(machine, "abbb,ab", path="ab")
        self.assertEqual(data.ab.input.tounicode(), "ab")
        self.assertEqual((source.sent, source.peek()), (2, "b"))

    def test_transitions_are_yielded(self) -> None:
        machine = cpppo.dfa("ab+", initial=ab_plus())
        source = cpppo.chainable("abb")
        names = [str(s.name) for m, s in machine.run(source=source, data=cpppo.dotdict()) if s is not None]
        self.assertEqual(names, ["E", "A", "B", "B"])

    def test_composite_machine_drops_separators(self) -> None:
        data, source = run_whole(csv_of_ab_plus(), "abbbb, ab,  abb", path="csv")
        self.assertEqual(data.csv.input.tounicode(), "abbbbababb")
        self.assertEqual(source.sent, 15)

    def test_composite_rejects_a_dangling_separator(self) -> None:
        with self.assertRaises(cpppo.NonTerminal):
            run_whole(csv_of_ab_plus(), "ab, ")

    def test_regex_accepts_and_collects(self) -> None:
        expression = "(ab+)((,[ ]*)(ab+))*"
        machine = cpppo.regex(initial=expression, terminal=True)
        self.assertTrue(machine.name.startswith(expression))
        self.assertEqual(machine.regex, expression)
        data, source = run_whole(machine, "abbb, ab")
        self.assertTrue(machine.terminal)
        self.assertEqual(data.input.tounicode(), "abbb, ab")
        self.assertEqual(source.sent, 8)

    def test_regex_not_greedy_stops_at_first_match(self) -> None:
        machine = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True, greedy=False)
        data, source = run_whole(machine, "abbb")
        self.assertEqual(data.input.tounicode(), "ab")
        self.assertEqual(source.peek(), "b")
        self.assertEqual(source.sent, 2)
        self.assertTrue(machine.terminal)

    def test_regex_terminal_only_if_created_terminal(self) -> None:
        plain = cpppo.regex(initial="ab+")
        run_whole(plain, "abb")
        self.assertTrue(plain.current.terminal)
        self.assertFalse(plain.terminal)
        marked = cpppo.regex(initial="ab+", terminal=True)
        run_whole(marked, "abb")
        self.assertTrue(marked.terminal)

    def test_regex_stops_where_the_language_ends(self) -> None:
        machine = cpppo.regex(initial="[^xyz]*", context="word", terminal=True)
        data, source = run_whole(machine, "aaab1230xoxx")
        self.assertEqual(data.word.input.tounicode(), "aaab1230")
        self.assertEqual(source.peek(), "x")

    def test_sentence_outside_the_grammar(self) -> None:
        for text in ("xyz", "a", "ab,", "ab, x", ""):
            machine = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True)
            with self.subTest(text=text):
                try:
                    run_whole(machine, text)
                except cpppo.NonTerminal:
                    continue
                self.assertFalse(machine.terminal)

    def test_regex_unicode(self) -> None:
        machine = cpppo.regex(initial="π[αβ]+", terminal=True)
        data, source = run_whole(machine, "πααβ!")
        self.assertEqual(data.input.tounicode(), "πααβ")
        self.assertTrue(machine.terminal)

    def test_regex_bytes_with_multibyte_characters(self) -> None:
        machine = cpppo.regex_bytes(initial="π+x", terminal=True)
        data, source = run_whole(machine, "ππx!".encode())
        self.assertEqual(data.input.tobytes().decode(), "ππx")
        self.assertEqual(source.peek(), ord("!"))

    def test_null_state_loops_terminate(self) -> None:
        a = cpppo.state("a")
        b = cpppo.state("b")
        a[None] = b
        b[None] = a
        with self.assertRaises(cpppo.NonTerminal):
            run_whole(cpppo.dfa("loop", initial=a), "xyz")

    def test_decide_chooses_on_the_data(self) -> None:
        kind = cpppo.state_fields("kind", "<B", context="kind")
        short = cpppo.state_fields("short", "<H", context="value", terminal=True)
        long = cpppo.state_fields("long", "<I", context="value", terminal=True)
        kind[None] = cpppo.decide("short?", short, lambda path=None, data=None, **kw: data[path + ".kind"] == 1)
        kind[None] = long
        machine = cpppo.dfa("tlv", initial=kind, terminal=True)
        data, _ = run_whole(machine, b"\x01\x34\x12", path="v")
        self.assertEqual(data.v.value, 0x1234)
        data, _ = run_whole(machine, b"\x02\x78\x56\x34\x12", path="v")
        self.assertEqual(data.v.value, 0x12345678)


def enip_like_text() -> cpppo.dfa:
    """Length-prefixed fields over text: a 1-character count, then that many characters."""
    count = cpppo.state_bytes("count", 1, context="count")
    body = cpppo.state_bytes("body", lambda path=None, data=None: ord(data[path + ".count"]) % 4,
                             context="body", terminal=True)
    count[None] = body
    return cpppo.dfa("tlv", initial=count, terminal=True)


class TestChunkedFeeding(unittest.TestCase):
    """A machine fed in pieces ends exactly as one fed the whole sentence."""

    CASES: list[tuple[Any, Any]] = [
        (lambda: cpppo.dfa("ab+", initial=ab_plus()), "abbb,ab"),
        (lambda: cpppo.dfa("ab+", initial=ab_plus(), greedy=False), "abbb"),
        (csv_of_ab_plus, "abbb, ab,  abb"),
        (csv_of_ab_plus, "ab, x"),
        (lambda: cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True), "abbb, ab"),
        (lambda: cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True, greedy=False), "abbb, ab"),
        (lambda: cpppo.regex_bytes(initial="π+x", terminal=True), "ππx!".encode()),
    ]

    def test_every_split_point_generator_protocol(self) -> None:
        for build, text in self.CASES:
            want = outcome(run_whole, build(), text)
            for chunks in splits(text):
                with self.subTest(text=text, chunks=chunks):
                    self.assertEqual(outcome(run_chunked, build(), chunks), want)

    def test_every_split_point_feeder(self) -> None:
        for build, text in self.CASES:
            want = feed_all(build(), [text])
            for chunks in splits(text):
                with self.subTest(text=text, chunks=chunks):
                    self.assertEqual(feed_all(build(), chunks), want)

    def test_feeder_sentence_matches_a_whole_run(self) -> None:
        data = Feeder(csv_of_ab_plus()).feed("abbb, ab")
        self.assertEqual(data, [])  # greedy: it waits to see whether more follows
        feeder = Feeder(csv_of_ab_plus())
        feeder.feed("abbb, ab")
        (sentence,) = feeder.close()
        whole, _ = run_whole(csv_of_ab_plus(), "abbb, ab")
        self.assertEqual(dict(sentence.items()), dict(whole.items()))

    # Machines hold no run-time state, so one of each serves every example.
    MACHINES = (csv_of_ab_plus(), cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True),
                cpppo.dfa("ab+", initial=ab_plus()), enip_like_text())

    @settings(max_examples=250, deadline=None)
    @given(st.text(alphabet="ab, x", max_size=14), st.lists(st.integers(0, 14), max_size=4))
    def test_random_input_chunked_equals_whole(self, text: str, cuts: list[int]) -> None:
        points = sorted({c for c in cuts if 0 < c < len(text)})
        chunks = [text[i:j] for i, j in zip([0] + points, points + [len(text)])]
        for machine in self.MACHINES:
            whole = outcome(run_whole, machine, text)
            self.assertEqual(outcome(run_chunked, machine, chunks), whole)
            self.assertEqual(feed_all(machine, chunks), feed_all(machine, [text]))


def feed_all(machine: cpppo.state, chunks: Iterable[Any]) -> tuple:
    """Every sentence a Feeder finds, chunk by chunk, then end of input; and how it stopped."""
    feeder = Feeder(machine)
    sentences: list[Any] = []
    try:
        for chunk in chunks:
            sentences.extend(feeder.feed(chunk))
        sentences.extend(feeder.close())
        end = "ok"
    except cpppo.NonTerminal:
        end = "NonTerminal"
    return [sorted((k, str(v)) for k, v in d.items()) for d in sentences], feeder.source.sent, end


HEADER_FIELDS = ("command", "length", "session", "status", "context", "options")


def enip_like() -> cpppo.dfa:
    """A 24-byte header, then `length` payload bytes: a length-prefixed frame."""
    header = cpppo.state_fields("header", "<HHII8sI", HEADER_FIELDS, context="header")
    payload = cpppo.state_bytes("payload", "header.length", context="payload", terminal=True)
    header[None] = payload
    return cpppo.dfa("frame", initial=header, terminal=True)


def frame(command: int, payload: bytes, session: int = 7) -> bytes:
    return struct.pack("<HHII8sI", command, len(payload), session, 0, b"ctx12345", 0) + payload


class TestBulkFields(unittest.TestCase):
    def test_frames_split_anywhere(self) -> None:
        stream = frame(0x6F, b"hello") + frame(0x70, b"") + frame(0x65, b"\x01\x00\x00\x00")
        want = [(0x6F, b"hello"), (0x70, b""), (0x65, b"\x01\x00\x00\x00")]
        for i in range(len(stream) + 1):
            for j in range(i, len(stream) + 1, 7):
                feeder = Feeder(enip_like())
                got = []
                for piece in (stream[:i], stream[i:j], stream[j:]):
                    if piece:  # an empty piece would mean the end of input
                        got.extend(feeder.feed(piece))
                got.extend(feeder.close())
                self.assertEqual([(d.header.command, d.payload) for d in got], want, (i, j))
                self.assertEqual(got[0].header.context, b"ctx12345")

    def test_next_event_pauses_and_resumes(self) -> None:
        feeder = Feeder(enip_like())
        data = frame(0x6F, b"abc")
        feeder.receive_data(data[:10])
        self.assertIs(feeder.next_event(), NEED_DATA)
        feeder.receive_data(data[10:])
        self.assertEqual(feeder.next_event().payload, b"abc")
        self.assertIs(feeder.next_event(), NEED_DATA)
        feeder.receive_data(b"")
        self.assertIsNone(feeder.next_event())

    def test_truncated_frame_at_end_of_input(self) -> None:
        feeder = Feeder(enip_like())
        self.assertEqual(feeder.feed(frame(0x6F, b"abc")[:-1]), [])
        with self.assertRaises(cpppo.NonTerminal):
            feeder.close()

    def test_repeat_from_a_count_field(self) -> None:
        count = cpppo.state_fields("count", "<H", context="count")
        item = cpppo.state_fields("item", "<I", context="entry.value", terminal=True)

        items = cpppo.dfa("items", initial=item, context="list", repeat="..count", terminal=True)
        count[None] = items
        machine = cpppo.dfa("list", initial=count, terminal=True)
        sentence = struct.pack("<HIII", 3, 10, 20, 30)
        data, source = run_whole(machine, sentence, path="x")
        self.assertEqual(source.sent, len(sentence))
        self.assertEqual(data.x.list.entry.value, 30)  # each cycle stores at the same path
        self.assertEqual(items.cycle, 3)

    def test_limit_bounds_a_sub_machine(self) -> None:
        length = cpppo.state_fields("length", "<B", context="length")
        word = cpppo.regex_bytes(initial="[a-z]*", context="word", terminal=True, limit="..length")
        length[None] = word
        machine = cpppo.dfa("counted", initial=length, terminal=True)
        data, source = run_whole(machine, b"\x03abcdef")
        self.assertEqual(data.word.input.tobytes(), b"abc")
        self.assertEqual(source.sent, 4)

    def test_state_struct_decodes_collected_input(self) -> None:
        ctx = "val"
        a = cpppo.state_input("First", alphabet=int, typecode="B", context=ctx)
        a[True] = b = cpppo.state_input("Second", alphabet=int, typecode="B", context=ctx)
        b[True] = c = cpppo.state_input("Third", alphabet=int, typecode="B", context=ctx)
        c[True] = d = cpppo.state_input("Fourth", alphabet=int, typecode="B", context=ctx)
        d[None] = cpppo.state_struct("int32", context=ctx, format="<i", terminal=True)
        for chunks in splits(b"\x01\x02\x03\x80\x99"):
            data, source = run_chunked(cpppo.dfa(initial=a), chunks, path="struct")
            self.assertEqual(data.struct.val, -2147286527)
            self.assertEqual(source.sent, 4)


def tagged_record() -> cpppo.dfa:
    """A linear machine with an alphabet: 'T', a null state, a <H count, then count bytes."""
    tag = cpppo.state_input("tag", alphabet=b"T"[0:1], context="tag")
    mark = cpppo.state("mark")
    count = cpppo.state_fields("count", "<H", context="count")
    body = cpppo.state_bytes("body", "count", context="body", terminal=True)
    tag[None] = mark
    mark[None] = count
    count[None] = body
    return cpppo.dfa("record", initial=tag, terminal=True)


def enip_like_in_context() -> cpppo.dfa:
    """The same frame, its results under the machine's own context (``<path>.frame.header...``)."""
    inner = enip_like()
    return cpppo.dfa("framed", initial=inner.initial, context="frame", terminal=True)


def feed_log(machine_factory: Any, chunks: list[bytes], linear: bool, by_event: bool) -> tuple:
    """Everything a Feeder reports over *chunks*, by feed() or by next_event(), to compare runs."""
    feeder = Feeder(machine_factory(), path="p", linear=linear)
    log: list[Any] = []
    try:
        for chunk in chunks + [b""]:
            if by_event:
                feeder.receive_data(chunk)
                while (event := feeder.next_event()) is not NEED_DATA and event is not None:
                    log.append(sorted((k, str(v)) for k, v in event.items()))
                log.append("NEED_DATA" if event is NEED_DATA else "end")
            else:
                log.append([sorted((k, str(v)) for k, v in d.items()) for d in feeder.feed(chunk)])
        end = "ok"
    except cpppo.NonTerminal:
        end = "NonTerminal"
    return log, feeder.source.sent, feeder.sentences, end


class TestLinearChain(unittest.TestCase):
    """A machine whose states can only run in order is run without the Engine, with the same results."""

    def test_which_machines_are_linear(self) -> None:
        from cpppo.automata.engine import linear_chain

        self.assertEqual([s.name for s in linear_chain(enip_like())], ["header", "payload"])
        self.assertEqual(len(linear_chain(tagged_record())), 4)
        self.assertIsNone(linear_chain(csv_of_ab_plus()))  # nested machines, separators: choices
        a, b = cpppo.state_fields("a", "<H", context="a"), cpppo.state_fields("b", "<H", context="b")
        a[None] = b
        self.assertIsNone(linear_chain(cpppo.dfa(initial=a)))  # the last state is not terminal
        b._terminal = True
        self.assertIsNotNone(linear_chain(cpppo.dfa(initial=a)))
        self.assertIsNone(linear_chain(cpppo.dfa(initial=a, repeat=2)))
        self.assertIsNone(linear_chain(cpppo.dfa(initial=a, greedy=False)))
        b[None] = a  # a cycle
        self.assertIsNone(linear_chain(cpppo.dfa(initial=a)))
        c = cpppo.state_fields("c", "<H", context="c", terminal=True)
        d = cpppo.state_fields("d", "<H", context="d", terminal=True)
        c[None] = cpppo.decide("odd", d, predicate=lambda data, **kwds: True)
        self.assertIsNone(linear_chain(cpppo.dfa(initial=c)))  # a decide is a choice

    def test_the_linear_run_is_used(self) -> None:
        self.assertIsNotNone(Feeder(enip_like())._chain)
        self.assertIsNone(Feeder(enip_like(), linear=False)._chain)
        self.assertIsNone(Feeder(csv_of_ab_plus())._chain)

    def test_machine_current_follows_the_run(self) -> None:
        machine = enip_like()
        feeder = Feeder(machine)
        feeder.feed(frame(0x6F, b"abc")[:30])
        self.assertEqual(machine.current.name, "payload")
        feeder.feed(frame(0x6F, b"abc")[30:])
        self.assertEqual(machine.current.name, "payload")

    def test_a_failure_after_sentences_keeps_them(self) -> None:
        for linear in (True, False):
            feeder = Feeder(tagged_record(), linear=linear)
            got = feeder.feed(b"T\x01\x00aT\x00\x00X")
            self.assertEqual([d.body for d in got], [b"a", b""], linear)
            with self.assertRaises(cpppo.NonTerminal):
                feeder.feed(b"more")

    def test_a_machine_that_consumes_nothing_is_an_error(self) -> None:
        for linear in (True, False):
            feeder = Feeder(cpppo.dfa("idle", initial=cpppo.state("idle", terminal=True)), linear=linear)
            self.assertEqual(feeder._chain is not None, linear)
            with self.assertRaisesRegex(cpppo.NonTerminal, "accepts nothing"):
                feeder.feed(b"x")

    def test_asking_again_with_nothing_new_still_waits(self) -> None:
        data = frame(0x6F, b"abc")
        for linear in (True, False):
            feeder = Feeder(enip_like(), linear=linear)
            feeder.receive_data(data[:10])
            self.assertIs(feeder.next_event(), NEED_DATA)
            self.assertIs(feeder.next_event(), NEED_DATA, linear)   # not the end of input
            feeder.receive_data(data[10:])
            self.assertEqual(feeder.next_event().payload, b"abc")

    def test_the_machines_context_holds_the_results(self) -> None:
        for linear in (True, False):
            feeder = Feeder(enip_like_in_context(), path="p", linear=linear)
            self.assertEqual(feeder._chain is not None, linear)
            (got,) = feeder.feed(frame(0x6F, b"abc"))
            self.assertEqual((got.p.frame.header.command, got.p.frame.payload), (0x6F, b"abc"), linear)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from([0x65, 0x6F, 0x70]), st.binary(max_size=12)), max_size=4),
           st.binary(max_size=30), st.lists(st.integers(min_value=0, max_value=200), max_size=6),
           st.booleans(), st.sampled_from([enip_like, enip_like_in_context]))
    def test_linear_equals_engine_on_frames(self, frames: list, tail: bytes, cuts: list[int],
                                            by_event: bool, factory: Any) -> None:
        stream = b"".join(frame(c, p) for c, p in frames) + tail
        points = sorted({min(c, len(stream)) for c in cuts})
        chunks = [stream[i:j] for i, j in zip([0] + points, points + [len(stream)]) if stream[i:j]]
        self.assertEqual(feed_log(factory, chunks, True, by_event), feed_log(factory, chunks, False, by_event))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.binary(max_size=6), max_size=3), st.binary(max_size=8),
           st.lists(st.integers(min_value=0, max_value=40), max_size=5), st.booleans())
    def test_linear_equals_engine_with_an_alphabet(self, bodies: list, junk: bytes, cuts: list[int],
                                                   by_event: bool) -> None:
        stream = b"".join(b"T" + struct.pack("<H", len(b)) + b for b in bodies) + junk
        points = sorted({min(c, len(stream)) for c in cuts})
        chunks = [stream[i:j] for i, j in zip([0] + points, points + [len(stream)]) if stream[i:j]]
        self.assertEqual(feed_log(tagged_record, chunks, True, by_event),
                         feed_log(tagged_record, chunks, False, by_event))


def nested_records() -> cpppo.dfa:
    """A <B count, then that many items, each a machine of its own: machines nested two deep."""
    count = cpppo.state_fields("count", "<B", context="count")
    value = cpppo.state_fields("value", "<H", context="value", terminal=True)
    item = cpppo.dfa("item", initial=value, terminal=True)
    items = cpppo.dfa("items", initial=item, context="list", repeat="..count", terminal=True)
    count[None] = items
    return cpppo.dfa("records", initial=count, terminal=True)


def records(*values: int) -> bytes:
    return struct.pack(f"<B{len(values)}H", len(values), *values)


def interleaved(feeders: list[Feeder], streams: list[Any], piece: int) -> list[list[Any]]:
    """Feed each stream to its own Feeder *piece* symbols at a time, taking turns; then end them all."""
    got: list[list[Any]] = [[] for _ in streams]
    for at in range(0, max(map(len, streams)), piece):
        for feeder, stream, out in zip(feeders, streams, got):
            if at < len(stream):
                out.extend(feeder.feed(stream[at:at + piece]))
    for feeder, out in zip(feeders, got):
        out.extend(feeder.close())
    return [[sorted((k, str(v)) for k, v in d.items()) for d in out] for out in got]


class TestInterleavedRuns(unittest.TestCase):
    """One machine graph runs any number of parses at once: each run's state is its own, not the graph's."""

    CASES: list[tuple[Any, list[Any], bool]] = [
        (enip_like, [frame(0x65, b"abc") + frame(0x6F, b""), frame(0x70, b"0123456789", session=9)], True),
        (enip_like, [frame(0x65, b"abc") + frame(0x6F, b""), frame(0x70, b"0123456789", session=9)], False),
        (tagged_record, [b"T\x02\x00abT\x00\x00", b"T\x05\x00vwxyz"], True),
        (nested_records, [records(1, 2, 3) + records(4), records(7, 8) + records() + records(9)], False),
    ]

    def test_two_feeders_on_one_machine_fed_alternately(self) -> None:
        for build, streams, linear in self.CASES:
            alone = [feed_all(build(), [stream])[0] for stream in streams]
            for piece in (1, 3, 7):
                machine = build()
                feeders = [Feeder(machine, linear=linear) for _ in streams]
                self.assertEqual(feeders[0]._chain is not None, linear)
                with self.subTest(machine=machine.name, linear=linear, piece=piece):
                    self.assertEqual(interleaved(feeders, streams, piece), alone)

    def test_nested_counts_are_the_runs_own(self) -> None:
        """A repeat count read by one run never reaches the other, though both run the same sub-machine."""
        machine = nested_records()
        first, second = Feeder(machine), Feeder(machine)
        self.assertEqual(first.feed(records(1, 2, 3)[:2]), [])  # count 3, inside the first item
        (other,) = second.feed(records(5))  # count 1, done
        (mine,) = first.feed(records(1, 2, 3)[2:])
        self.assertEqual((other["count"], other.list.value), (1, 5))
        self.assertEqual((mine["count"], mine.list.value), (3, 3))

    def test_two_generator_runs_on_one_machine(self) -> None:
        machine = csv_of_ab_plus()
        texts = ["abbb, ab,  abb", "ab,ab"]
        sources = [cpppo.chainable() for _ in texts]
        datas = [cpppo.dotdict() for _ in texts]
        runs = [machine.run(source=src, data=data) for src, data in zip(sources, datas)]
        pieces = [iter([text[i:i + 2] for i in range(0, len(text), 2)]) for text in texts]
        live = [True] * len(texts)
        while any(live):
            for i, run in enumerate(runs):  # one transition of each run in turn
                if not live[i]:
                    continue
                try:
                    _, target = next(run)
                except StopIteration:
                    live[i] = False
                    continue
                if target is None and sources[i].starved:
                    chunk = next(pieces[i], None)
                    if chunk is not None:
                        sources[i].chain(chunk)
        for text, data, src in zip(texts, datas, sources):
            want, want_source = run_whole(csv_of_ab_plus(), text)
            self.assertEqual(dict(data.items()), dict(want.items()))
            self.assertEqual(src.sent, want_source.sent)


if __name__ == "__main__":
    unittest.main()
