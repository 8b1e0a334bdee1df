"""The original cpppo 5.2.5's helpers and parsers, side by side with ours: same calls, same answers.

Why: issue 23 asks for the original's names "with the original's semantics".  Each probe below is a
small script written as a user of 5.2.5 writes one; it runs once under the original (in its own
virtualenv, a peer) and once under this package, and prints its answers as JSON: the two outputs
must be identical.  A probe sticks to cases where the original's answer is its documented one (not
its bugs: those are listed, with ours, in the cases the unit tests pin).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from tests.peers.original import venv_python

#: The top-level helpers: numbers, sort keys, text layout, hex dumps, addresses.
HELPERS = """
import json
import cpppo
out = {}
out["scale"] = [cpppo.scale(v, d, r, **k) for v, d, r, k in [
    (0.0, (0.0, 100.0), (32.0, 212.0), {}), (-40.0, (100.0, 0.0), (32.0, 212.0), {}),
    (39, (25, 40), (0, 1), {"exponent": 2}), (24, (25, 40), (0, 1), {"exponent": 2, "clamped": True}),
    (120, (0, 100), (1, -1), {"clamped": True})]]
out["magnitude"] = [cpppo.magnitude(v) for v in (23, 0.23, 1, 2.6, 3.3, 1000)]
out["centeraxis"] = [cpppo.centeraxis(s, 20, **k) for s in ("123.456", "abc", "1.2.3", "x" * 30 + ".5")
                     for k in ({}, {"reverse": True}, {"clip": True}, {"fillchar": "x", "reverse": True})]
out["natural"] = sorted(("Z", "a", "10th", "1st", "9", 9.5, "a10b2", "a9b20"), key=cpppo.natural)
out["hexdump"] = cpppo.hexdump(bytes(range(40)) + b"hello world", offset=0x3FF0)
out["hexload"] = cpppo.hexload(cpppo.hexdump(bytes(range(40)), offset=16), offset=20).hex()
out["differs"] = cpppo.hexdump_differs(cpppo.hexdump(b"abcdefghijklmnopqrs"), cpppo.hexdump(b"abcdefghijklmnopqrX"))
parsed = []
for text in ("1.2.3.4", "::1", "1.2.3.4:80", "[::1]:80", "LocalHost", "localhost:44818", "('abc', 5)",
             ":80", "ttyS1", "::1:12345", "Host.Example.com:"):
    addr, port = cpppo.parse_ip_port(text, default=("dflt", 44818))
    parsed.append([repr(addr), port])
out["parse_ip_port"] = parsed
out["ema"] = [cpppo.exponential_moving_average(None, 5, 0.5), cpppo.exponential_moving_average(1, 5, 0.25)]
out["reprlib"] = cpppo.reprlib.repr(list(range(100)))
out["dotdict_depth"] = cpppo.dotdict({"a": {"b": 1, "c": {"d": 2}}, "e": 3}).listitems(depth=2)
print(json.dumps(out, indent=1, default=str))
"""

#: The path parsers of cpppo.server.enip.device.
PATHS = """
import json
from cpppo.server.enip import device
out = []
for p in ["Tag", "Tag[3]", "Tag.Sub[2-5]", "Tag*4", "@1/1/7", "@0x6b/8/1/2", '@2/1/{"connection":100}', "A.B.C[1]",
          ["X[1]"], [{"symbolic": "Y"}], "T[0-1]*9", "@1/1/7[2]"]:
    out.append([repr(p), device.parse_path(p), list(device.parse_path_elements(p))])
for r in ["1/0", "1/0/2/1.2.3.4", '[{"port": 1, "link": 0}]', '{"port": 2, "link": "10.0.0.1"}',
          [{"port": 1, "link": 0}]]:
    out.append([repr(r), device.parse_route_path(r)])
out.append(device.parse_connection_path("1/0/@2/1"))
out.append([device.port_link("1/0"), device.port_link(("2", "10.0.0.1")), device.parse_int("012")])
print(json.dumps(out, indent=0))
"""

#: A UDT record through udt.tag_struct, as pycomm3 describes the type.
UDT = """
import json
from cpppo.server.enip import udt
STR = {"name": "STRING", "attributes": ["LEN", "DATA"], "template": {"structure_size": 88},
       "internal_tags": {"LEN": {"offset": 0, "data_type": "DINT", "tag_type": "atomic"},
                         "DATA": {"offset": 4, "data_type": "SINT", "tag_type": "atomic", "array": 82}}}
T = {"name": "Motor", "attributes": ["Speed", "Amps", "Run", "Fault", "Hist", "Label"],
     "template": {"structure_size": 112},
     "internal_tags": {"Speed": {"offset": 0, "data_type": "REAL", "tag_type": "atomic"},
                       "Amps": {"offset": 4, "data_type": "DINT", "tag_type": "atomic"},
                       "Run": {"offset": 8, "data_type": "BOOL", "tag_type": "atomic", "bit": 0},
                       "Fault": {"offset": 8, "data_type": "BOOL", "tag_type": "atomic", "bit": 3},
                       "Hist": {"offset": 12, "data_type": "INT", "tag_type": "atomic", "array": 4},
                       "Label": {"offset": 20, "data_type": STR, "tag_type": "struct"}}}
codec = udt.tag_struct()
raw = codec.produce({"Speed": 1.5, "Amps": -7, "Run": True, "Fault": True, "Hist": [1, 2, 3, 4], "Label": "pump"}, T)
record = codec.parse(raw, T)
print(raw.hex())
print(json.dumps({k: (bool(v) if k in ("Run", "Fault") else v) for k, v in dict.items(record)}, sort_keys=True))
print(codec.produce({"Speed": 2.0, "Fault": True}, T).hex())
"""

#: The value machines: what they store, and where they stop.
MACHINES = """
import cpppo
cases = ((cpppo.string, "abc def", dict(initial="[a-z]+")), (cpppo.integer, "123x", {}),
         (cpppo.integer_bytes, b"4567 ", {}), (cpppo.string_bytes, b"hi there", dict(initial="[a-z]+")),
         (cpppo.string_bytes, b"hi there", dict(initial="[a-z]+", decode="ascii", greedy=True)))
for cls, text, kw in cases:
    machine = cls("x", terminal=True, **kw)
    data = cpppo.dotdict()
    source = cpppo.peekable(text)
    with machine:
        for _, target in machine.run(source=source, data=data):
            if target is None:
                break
    print(cls.__name__, sorted(data.items()), repr(source.peek()), machine.terminal)
"""


#: The client's operations as parse_operations and attribute_operations make them (the request a
#: pipeline sends): reads, writes of each type, attributes, with and without a route; the original
#: refuses a bad one with an AssertionError, ours with a ValueError (README, differences).
OPERATIONS = """
import json
from cpppo.server.enip import client
from cpppo.server.enip.get_attribute import attribute_operations
def norm(op):
    return {k: (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in dict(op).items()}
for tags in (["Tag"], ["Tag[0-3]"], ["Tag[1]=(DINT)9"], ["Tag=(REAL)1.5,2"], ["Tag[2]=(INT)1,2,3"], ["A.B[1].C"],
             ["Tag[0-3]+2"], ["@1/1/7"], ["@0x6b/8/1=(SINT)1"], ["Str=(STRING)hello"], ["Tag[0-9]"], ["Tag=(BOOL)1"],
             ["Tag=(SSTRING)ab"], ["@1/1/7=(DINT)3"]):
    for kw in ({}, {"route_path": "1/0", "send_path": "@6/1"}, {"fragment": True}):
        try:
            ops = [norm(o) for o in client.parse_operations(tags, **kw)]
            print(tags, kw, json.dumps(ops, sort_keys=True, default=str))
        except Exception as exc:
            print(tags, kw, "refused")
for a in (["@1/1/7"], ["@1/1"], ["@0x93/3/10=(REAL)1.5"], ["@1/1/1=(INT)5"], ["Tag"]):
    try:
        print(a, json.dumps([norm(o) for o in attribute_operations(a)], sort_keys=True, default=str))
    except Exception as exc:
        print(a, "refused")
"""

#: The client module's helpers: sender contexts, the value checks behind CIP_TYPES, the path parsers.
CLIENT_HELPERS = """
from cpppo.server.enip import client
print(client.format_context(b"abc"), client.format_context(b"0123456789"))
print(client.parse_context(bytearray(b"ab" + bytes(6))))
print(client.int_validate("12", 0, 20), client.bool_validate("True"), client.bool_validate(0),
      client.bool_validate("false"))
for bad in (lambda: client.int_validate(30, 0, 20), lambda: client.bool_validate("maybe")):
    try:
        bad()
    except (ValueError, AssertionError) as exc:
        print("refused", exc)
print(client.parse_path("Tag[1]"), client.parse_int("0x10"), list(client.parse_path_elements("A.B[2]")),
      client.parse_path_component("@1/1/7"))
print(sorted(client.CIP_TYPES), [client.CIP_TYPES[t][:2] for t in ("BOOL", "DINT", "REAL", "STRING")],
      client.CIP_TYPES["INT"][2]("65535"))
"""

#: A dotdict and an apidict as scripts use them: dotted keys, attributes, depth, printing, errors.
DOTDICT = """
import cpppo
from cpppo.dotdict import dotdict, apidict
d = dotdict()
d["a.b.c"] = 1
d.x = [1, 2]
d["y"] = {"z": 3}
d["l"] = [dotdict({"q": 1})]
print(repr(d)); print(str(d)); print(sorted(d.keys())); print(sorted(d.items()) if False else len(list(d.items())))
print(d.get("a.b.c"), d.get("a.b.nope", "dflt"), "a.b" in d, "a.b.c" in d, "a.z" in d)
print(d.setdefault("a.b.e", 5), d.a.b.e, d.pop("a.b.e"), "a.b.e" in d)
print(list(d.iteritems(depth=1)) if hasattr(d, "iteritems") else None)
print(sorted(d.listitems(depth=2)))
e = dotdict(d); print(e == d, e is d)
try:
    d.nope
except AttributeError as exc:
    print("AttributeError", exc)
try:
    d["a.nope"]
except KeyError as exc:
    print("KeyError", exc)
a = apidict(0.5, {"x": 1})
a.x = 2
print(a.x, sorted(a.keys()), repr(a))
print(cpppo.dotdict({"l.m": 1}))
del d["a.b.c"]; print(repr(d))
print(dotdict({"a": {"b": {"c": [1, {"d": 2}]}}}).a.b.c)
"""

#: The names a script reaches for one step beyond the examples: the list tests, the drives' base
#: class in ``ab``, the tag-name rule and type classes in ``device``, and the client's exceptions.
EXTRAS = """
import cpppo
from cpppo.server.enip import ab, client, device, get_attribute, parser
things = ([1], (1,), "s", b"b", {"a": 1}, cpppo.dotdict(), list, iter([1]), (x for x in "a"), 5)
print([cpppo.is_listlike(t) for t in things])
print(issubclass(ab.powerflex, ab.proxy_simple), ab.proxy_simple is get_attribute.proxy_simple)
print(device.canonicalize_tag("Motor.Speed_1"), device.STRING.tag_type, device.SSTRING.tag_type)
print([(t.__name__, t.tag_type, t.struct_calcsize) for t in (device.UDINT, device.DINT, device.DWORD, device.INT,
       device.UINT, device.WORD, device.USINT, parser.REAL, parser.LREAL, parser.SINT, parser.BOOL)])
try:
    device.canonicalize_tag("Ta\u0142")
except UnicodeEncodeError as exc:
    print("refused", exc.reason)
for cls in (client.ENIPStatusError, client.SENDStatusError, client.MSVCStatusError):
    err = cls(status=0x65)
    print(cls.__name__, str(err), err.status, issubclass(cls, client.ENIPStatusError), isinstance(err, Exception))
print(str(client.ENIPStatusError(status=1, message="custom 0x%02x")))
print(issubclass(cpppo.dfa_input, cpppo.dfa_base), issubclass(cpppo.dfa_drop, cpppo.state_drop))
"""


def run(python: str, script: str) -> str:
    done = subprocess.run([python, "-I", "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("probe", [HELPERS, PATHS, UDT, MACHINES, EXTRAS, DOTDICT, OPERATIONS, CLIENT_HELPERS],
                         ids=["helpers", "paths", "udt", "machines", "extras", "dotdict", "operations", "client"])
def test_same_answers_as_the_original(original_venv: object, probe: str) -> None:
    theirs = run(str(venv_python(original_venv)), probe)  # type: ignore[arg-type]
    ours = run(sys.executable, probe)
    assert ours == theirs


#: A proxy's read_details, as a script unpacks it: the values, statuses and the types (their names:
#: the original's classes, for a value decoded or a Tag's own type; as given, for a failure).
DETAILS = """
import sys
from cpppo.server.enip.get_attribute import proxy_simple
def name(t):
    return [name(x) for x in t] if isinstance(t, list) else getattr(t, "__name__", t)
via = proxy_simple("127.0.0.1", port=int(sys.argv[1]))
with via:
    for req in ([("@1/1/1", "INT")], [("@1/1", ["INT", "INT", "INT", "INT", "INT", "DINT", "SSTRING", "USINT"], "Id")],
                ["Tag[0-1]"], [("@1/1/7", "SSTRING")], ["Nope"], [("@99/1/1", "INT")], ["Tag[1]=(DINT)0"]):
        print([(v, (s, (a, name(t), u))) for v, (s, (a, t, u)) in via.read_details(req)])
"""


#: The original README's low-level way: ``conn.read(...)`` etc. send a request, ``conn.readable``
#: and ``next(conn)`` give its reply, the original's dotdict (Multiple Service Packets included).
REPLIES = """
import sys
from cpppo.server.enip import client
port = int(sys.argv[1])
def show(rpy):
    req = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request
    data = req.get("read_frag.data") or req.get("read_tag.data") or req.get("get_attribute_single.data")
    return sorted(k for k in req.keys() if k != "input"), data
with client.connector(host="127.0.0.1", port=port) as conn:
    conn.write("Tag[0-1]", data=[3, 4], tag_type=0xc4)
    assert conn.readable(timeout=5.0)
    print(show(next(conn)))
    req = conn.read("Tag[0-1]")
    assert conn.readable(timeout=5.0), "Failed to receive reply"
    rpy = next(conn)
    print(rpy.enip.status, rpy.enip.command, rpy.enip.length, show(rpy))
    conn.read("Tag[0-1]")
    assert conn.readable(timeout=5.0)
    print(show(next(conn)))
    conn.get_attribute_single("@1/1/7")
    assert conn.readable(timeout=5.0)
    print(show(next(conn)))
    r1 = conn.read("Tag[0]", send=False); r2 = conn.read("Tag[1]", send=False)
    conn.multiple(request=[r1, r2])
    assert conn.readable(timeout=5.0)
    rpy = next(conn)
    m = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request
    keys = sorted(k for k in m.keys() if k != "input" and not k.startswith("multiple.request"))
    print(keys, m.multiple.offsets, [r.get("read_frag.data") or r.get("read_tag.data") for r in m.multiple.request])
    conn.list_identity()
    assert conn.readable(timeout=5.0)
    print(next(conn).enip.CIP.list_identity.CPF.item[0].identity_object.product_name)
"""


def _side_by_side(original_venv: object, script: str) -> tuple[str, str]:
    from tests.enip_server_fixture import serving

    with serving(["Tag=DINT[10]"]) as server:
        theirs = subprocess.run([str(venv_python(original_venv)), "-I", "-c", script, str(server.port)],  # type: ignore[arg-type]
                                capture_output=True, text=True, timeout=120)
        ours = subprocess.run([sys.executable, "-I", "-c", script, str(server.port)], capture_output=True, text=True,
                              timeout=120)
    assert theirs.returncode == ours.returncode == 0, ours.stderr + theirs.stderr
    return ours.stdout, theirs.stdout


#: The connector's higher-level calls as the original README shows them: process, results, operate
#: (with its printing and the request/reply dotdicts of each result), pipelines packed and fragmented.
PROCESS = """
import sys
from cpppo.server.enip import client
port = int(sys.argv[1])
with client.connector(host="127.0.0.1", port=port) as conn:
    ops = list(client.parse_operations(["Tag[0-9]=(DINT)1,2,3,4,0,0,0,0,0,0", "Tag[0-3]", "Nope", "Tag[2]",
                                        "@1/1/7", "Tag[9]=(DINT)0"]))
    print(conn.process(operations=ops, depth=2, multiple=0, fragment=False, printing=False, timeout=5))
    print(list(conn.results(operations=client.parse_operations(["Tag[1-2]", "Nope"]))))
    ops = client.parse_operations(["Tag[0-1]", "Tag[1]=(DINT)2"])
    for r in conn.operate(ops, depth=1, printing=True, validating=True):
        print(r)
    ops = client.parse_operations(["Tag[0-9]", "Tag[0-1]", "Tag[5]=(DINT)7"])
    for i, dsc, op, rpy, sts, val in conn.pipeline(ops, multiple=200, depth=3):
        print(i, dsc, sts, val)
    ops = client.parse_operations(["Tag[0-9]", "Tag[1-3]=(DINT)2,3,4"], fragment=True)
    for i, dsc, op, rpy, sts, val in conn.pipeline(ops):
        print(i, dsc, sts, val)
"""


def test_connector_process_results_operate_as_the_original(original_venv: object) -> None:
    ours, theirs = _side_by_side(original_venv, PROCESS)
    assert ours == theirs
    assert theirs.splitlines()[0] == "(2, [True, [1, 2, 3, 4], None, [3], None, True])"


def test_connector_replies_as_the_original(original_venv: object) -> None:
    ours, theirs = _side_by_side(original_venv, REPLIES)
    assert ours == theirs
    assert "[6, 16] [[3], [4]]" in theirs


def test_proxy_read_details_as_the_original(original_venv: object) -> None:
    ours, theirs = _side_by_side(original_venv, DETAILS)
    assert ours == theirs
    assert "[([0, 0], (0, ('Tag[0-1]', 'DINT', None)))]" in theirs.splitlines()


def test_class_level_attributes_as_the_original_serves_them(original_venv: object) -> None:
    """Instance 0 of a class (Revision, Max Instance, Num Instances, Optional Attributes): the
    original's get_attribute against its simulator, and ours against ours, print the same."""
    from tests.enip_server_fixture import serving
    from tests.peers.original import start_original_simulator

    reads = ["@1/0/1", "@1/0/2", "@1/0/3", "@1/0/4", "@2/0/2", "@2/0/3", "@1/0"]
    stamp = re.compile(r"^.*? \d{4}: ", re.M)
    with start_original_simulator(["Tag=DINT[10]"]) as theirs_sim:
        theirs = subprocess.run([str(venv_python(original_venv)), "-I", "-m",  # type: ignore[arg-type]
                                 "cpppo.server.enip.get_attribute", "-a", f"127.0.0.1:{theirs_sim.port}", *reads],
                                capture_output=True, text=True, timeout=120)
    with serving(["Tag=DINT[10]"]) as server:
        ours = subprocess.run([sys.executable, "-m", "cpppo.server.enip.get_attribute", "-a",
                               f"127.0.0.1:{server.port}", *reads], capture_output=True, text=True, timeout=120)
    assert theirs.returncode == ours.returncode == 0, theirs.stderr + ours.stderr
    assert stamp.sub("", ours.stdout) == stamp.sub("", theirs.stdout)
    assert "  2: Single G_A_S      @0x0001/0/3 == [1, 0]" in stamp.sub("", ours.stdout).splitlines()
