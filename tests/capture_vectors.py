#!/usr/bin/env python3
"""Capture golden EtherNet/IP vectors: real clients talking to the ORIGINAL cpppo 5.2.5 simulator.

    .venv/bin/python tests/capture_vectors.py              # every scenario
    .venv/bin/python tests/capture_vectors.py -l           # list the scenarios
    .venv/bin/python tests/capture_vectors.py pylogix-     # only those whose name starts so

Each scenario starts a fresh original simulator on 127.0.0.1 (tags: SIM_TAGS), a RecordingProxy in
front of it, and runs one client through the proxy in a subprocess with a timeout: the original
cpppo 5.2.5 client (from its own venv, see tests/peers/original.py), or pylogix / pycomm3 (from the
project's .venv).  The proxy's byte streams are split into EtherNet/IP frames and written to
cpppo/tests/vectors/enip/<client>-<scenario>.json:

    {"format": "cpppo-enip-vectors/1",
     "header": {"client": ..., "scenario": ..., "tools": {...versions...},
                "errors": [indexes of s2c frames carrying an error status],
                "unanswered": [indexes of c2s frames that got no reply], "closes": [...], ...},
     "frames": [{"dir": "c2s"|"s2c", "hex": "...", "note": "...", "conn": 0}, ...]}

A frame's note is a short decode (command, session status, CIP service, path, general status);
"ERROR" starts the note of every frame the original simulator answered with an error.

Importable: capture(scenario) -> dict, write_vector(scenario, outdir) -> Path, SCENARIOS, describe().
"""

import argparse
import datetime
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: make "tests.peers" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.peers import original  # noqa: E402
from tests.peers.proxy import RecordingProxy, enip_frames  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
VECTOR_DIR = REPO_ROOT / "cpppo" / "tests" / "vectors" / "enip"
FORMAT = "cpppo-enip-vectors/1"
SIM_TAGS = ("SCADA=INT[1000]", "FLOAT=REAL[10]", "COUNT=DINT[10]")
CLIENT_TIMEOUT = 60.0


def peer_python() -> str:
    """The interpreter with pylogix and pycomm3: $CPPPO_PEER_PYTHON, else <repo>/.venv, else this one."""
    env = os.environ.get("CPPPO_PEER_PYTHON")
    if env:
        return env
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# ---------------------------------------------------------------------------------------------
# Frame notes: a small, independent decode for humans (not the product's codec)
# ---------------------------------------------------------------------------------------------

ENIP_COMMANDS = {
    0x0000: "NOP", 0x0001: "ListTargets(legacy)", 0x0004: "ListServices", 0x0063: "ListIdentity",
    0x0064: "ListInterfaces", 0x0065: "RegisterSession", 0x0066: "UnRegisterSession",
    0x006F: "SendRRData", 0x0070: "SendUnitData", 0x0072: "IndicateStatus", 0x0073: "Cancel",
}
ENIP_STATUS = {
    0x0001: "invalid or unsupported command", 0x0002: "insufficient memory",
    0x0003: "incorrect data", 0x0064: "invalid session handle", 0x0065: "invalid length",
    0x0069: "unsupported protocol revision",
    0x0008: "non-standard; the original cpppo's reply to a request it could not parse or handle",
}
CIP_SERVICES = {
    0x01: "Get Attributes All", 0x02: "Set Attributes All", 0x03: "Get Attribute List",
    0x04: "Set Attribute List", 0x05: "Reset", 0x0A: "Multiple Service Packet",
    0x0E: "Get Attribute Single", 0x10: "Set Attribute Single", 0x4B: "Execute PCCC",
    0x4C: "Read Tag", 0x4D: "Write Tag", 0x4E: "Forward Close", 0x52: "Read Tag Fragmented",
    0x53: "Write Tag Fragmented", 0x54: "Forward Open", 0x55: "Get Instance Attribute List",
    0x5B: "Large Forward Open",
}
CIP_STATUS = {
    0x00: "success", 0x01: "connection failure", 0x02: "resource unavailable",
    0x03: "invalid parameter value", 0x04: "path segment error", 0x05: "path destination unknown",
    0x06: "partial transfer", 0x08: "service not supported", 0x09: "invalid attribute value",
    0x0C: "object state conflict", 0x11: "reply data too large", 0x13: "not enough data",
    0x14: "attribute not supported", 0x15: "too much data", 0x1E: "embedded service error",
    0x1F: "vendor specific error", 0x20: "invalid parameter", 0x26: "path size invalid",
}
CIP_TYPES = {0xC1: "BOOL", 0xC2: "SINT", 0xC3: "INT", 0xC4: "DINT", 0xC5: "LINT", 0xCA: "REAL",
             0xCB: "LREAL", 0xD3: "DWORD"}


def decode_path(path: bytes) -> str:
    """EPATH bytes -> '@6/1', 'SCADA[1]', '@1/1/7', 'port 1 link 0', ..."""
    out, pos = [], 0
    try:
        while pos < len(path):
            seg = path[pos]
            if seg == 0x91:                                  # ANSI extended symbol
                n = path[pos + 1]
                out.append(("." if out else "") + path[pos + 2:pos + 2 + n].decode("ascii", "replace"))
                pos += 2 + n + (n & 1)
            elif seg & 0xE0 == 0x20:                         # logical segment
                kind = (seg >> 2) & 0x07
                fmt = seg & 0x03
                if fmt == 0:
                    val, size = path[pos + 1], 2
                elif fmt == 1:
                    val, size = struct.unpack_from("<H", path, pos + 2)[0], 4
                else:
                    val, size = struct.unpack_from("<I", path, pos + 2)[0], 6
                if kind == 0:
                    out.append(f"@{val}")
                elif kind in (1, 4):                         # instance, attribute
                    out.append(f"/{val}")
                elif kind == 3:
                    out.append(f"/connection-point:{val}")
                elif kind == 2 and out and not out[-1].startswith(("@", "/", " ")):
                    out.append(f"[{val}]")                   # element of a symbolic tag
                else:
                    out.append(f"/logical{kind}:{val}")
                pos += size
            elif seg & 0xE0 == 0x00:                         # port segment
                port = seg & 0x0F
                if seg & 0x10:
                    n = path[pos + 1]
                    link = path[pos + 2:pos + 2 + n].decode("ascii", "replace")
                    pos += 2 + n + (n & 1)
                else:
                    link = path[pos + 1]
                    pos += 2
                out.append(f" port {port} link {link}")
            else:
                out.append(f" <segment 0x{seg:02x}:{path[pos:].hex()}>")
                break
    except (IndexError, struct.error):
        out.append(" <truncated path>")
    return "".join(out).strip() or "<empty path>"


def _service_name(code, path_text=""):
    if code == 0x52 and path_text.startswith("@6/1"):
        return "Unconnected Send"
    return CIP_SERVICES.get(code, f"service 0x{code:02x}")


def describe_cip_request(msg: bytes, depth=0) -> str:
    if len(msg) < 2:
        return f"short CIP request {msg.hex()}"
    service, words = msg[0], msg[1]
    path = msg[2:2 + 2 * words]
    data = msg[2 + 2 * words:]
    ptext = decode_path(path)
    name = _service_name(service, ptext)
    text = f"{name} (0x{service:02x}) {ptext}"
    try:
        if name == "Unconnected Send" and depth < 3:
            size, = struct.unpack_from("<H", data, 2)
            inner = data[4:4 + size]
            rest = data[4 + size + (size & 1):]
            route = decode_path(rest[2:2 + 2 * rest[0]]) if rest else ""
            return f"{text} -> [{describe_cip_request(inner, depth + 1)}] route {route}"
        if service == 0x0A and depth < 3:
            count, = struct.unpack_from("<H", data, 0)
            offs = struct.unpack_from(f"<{count}H", data, 2)
            parts = []
            for i, off in enumerate(offs):
                end = offs[i + 1] if i + 1 < count else len(data)
                parts.append(describe_cip_request(data[off:end], depth + 1))
            return f"{text} x{count}: " + "; ".join(parts)
        if service in (0x4C, 0x52):
            count, = struct.unpack_from("<H", data, 0)
            extra = f" offset {struct.unpack_from('<I', data, 2)[0]}" if service == 0x52 and len(data) >= 6 else ""
            return f"{text} count {count}{extra}"
        if service in (0x4D, 0x53):
            typ, count = struct.unpack_from("<HH", data, 0)
            extra = f" offset {struct.unpack_from('<I', data, 4)[0]}" if service == 0x53 else ""
            return f"{text} {CIP_TYPES.get(typ, hex(typ))} x{count}{extra}"
        if service in (0x54, 0x5B):
            return f"{text} ({len(data)} bytes of connection parameters)"
    except (struct.error, IndexError):
        return f"{text} <short data>"
    return text + (f" data {data.hex()}" if data else "")


def describe_cip_reply(msg: bytes, depth=0):
    """-> (text, error?) for a CIP reply."""
    if len(msg) < 4:
        return f"short CIP reply {msg.hex()}", True
    service, status, ext = msg[0] & 0x7F, msg[2], msg[3]
    extwords = msg[4:4 + 2 * ext]
    data = msg[4 + 2 * ext:]
    name = CIP_SERVICES.get(service, f"service 0x{service:02x}")
    error = status not in (0x00, 0x06)
    text = f"{name} reply (0x{msg[0]:02x}) status 0x{status:02x} {CIP_STATUS.get(status, '')}".rstrip()
    if ext:
        text += f" ext {extwords.hex()}"
    try:
        if service == 0x0A and len(data) >= 2 and depth < 3:
            count, = struct.unpack_from("<H", data, 0)
            offs = struct.unpack_from(f"<{count}H", data, 2)
            parts = []
            for i, off in enumerate(offs):
                end = offs[i + 1] if i + 1 < count else len(data)
                sub, suberr = describe_cip_reply(data[off:end], depth + 1)
                error = error or suberr
                parts.append(sub)
            return f"{text} x{count}: " + "; ".join(parts), error
        if service in (0x4C, 0x52) and status in (0, 6) and len(data) >= 2:
            typ, = struct.unpack_from("<H", data, 0)
            return f"{text} {CIP_TYPES.get(typ, hex(typ))}, {len(data) - 2} data bytes", error
    except (struct.error, IndexError):
        return f"{text} <short data>", True
    if data:
        text += f" data {data[:32].hex()}{'...' if len(data) > 32 else ''}"
    return text, error


def _cpf_items(body: bytes):
    count, = struct.unpack_from("<H", body, 0)
    pos, items = 2, []
    for _ in range(count):
        typ, length = struct.unpack_from("<HH", body, pos)
        items.append((typ, body[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return items


def describe(frame: bytes, direction: str):
    """-> (note, error?) for one EtherNet/IP encapsulation frame."""
    cmd, length, session, status = struct.unpack_from("<HHII", frame, 0)
    body = frame[24:]
    name = ENIP_COMMANDS.get(cmd, f"command 0x{cmd:04x}")
    text = f"{name}"
    if direction == "s2c":
        text += " reply"
    error = False
    if status:
        error = True
        text += f" ENIP status 0x{status:x} ({ENIP_STATUS.get(status, 'error')})"
    try:
        if cmd in (0x006F, 0x0070) and len(body) >= 8:
            items = _cpf_items(body[6:])
            for typ, data in items:
                if typ == 0xA1:
                    text += f" conn 0x{struct.unpack_from('<I', data, 0)[0]:08x}"
                elif typ in (0xB1, 0xB2):
                    if typ == 0xB1:
                        seq, = struct.unpack_from("<H", data, 0)
                        text += f" seq {seq}"
                        data = data[2:]
                    if direction == "c2s":
                        text += ": " + describe_cip_request(data)
                    else:
                        sub, suberr = describe_cip_reply(data)
                        text += ": " + sub
                        error = error or suberr
        elif cmd == 0x0065 and len(body) >= 4:
            text += f" session 0x{session:08x}" if direction == "s2c" else \
                f" protocol {struct.unpack_from('<H', body, 0)[0]}"
        elif cmd == 0x0063 and direction == "s2c" and body:
            items = _cpf_items(body)
            names = []
            for typ, data in items:
                if typ == 0x0C and len(data) > 33:
                    n = data[32]
                    vendor, = struct.unpack_from("<H", data, 18)
                    names.append(f"vendor {vendor} product {data[33:33 + n].decode('ascii', 'replace')!r}")
            text += f" {len(items)} item(s) " + ", ".join(names)
        elif cmd in (0x0004, 0x0064) and direction == "s2c" and body:
            text += f" {len(_cpf_items(body))} item(s)"
    except (struct.error, IndexError):
        text += " <undecodable body>"
    if error:
        text = "ERROR " + text
    return text.strip(), error


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

@dataclass
class Scenario:
    client: str                         # "cpppo525", "pylogix", "pycomm3"
    name: str
    description: str
    args: tuple = ()                    # cpppo525: client arguments
    module: str = "cpppo.server.enip.client"
    script: str = ""                    # pylogix/pycomm3: Python run with PORT defined
    sim_args: tuple = ()
    tags: tuple = SIM_TAGS
    expect: str = "ok"                  # what we expected: "ok" or "error" (for the record)
    extra: dict = field(default_factory=dict)

    @property
    def id(self):
        return f"{self.client}-{self.name}"


def _cp(name, description, *args, module="cpppo.server.enip.client", expect="ok"):
    return Scenario("cpppo525", name, description, args=args, module=module, expect=expect)


PYLOGIX_PRELUDE = """
import json, sys
from pylogix import PLC
out = []
def show(what, r):
    out.append({"call": what, "value": repr(getattr(r, "Value", r)), "status": str(getattr(r, "Status", ""))})
with PLC("127.0.0.1", port=PORT, timeout=5.0) as comm:
    comm.Micro800 = False
"""

PYCOMM3_PRELUDE = """
import json, sys, traceback
out = []
def show(what, r):
    out.append({"call": what, "value": repr(getattr(r, "value", r)), "error": str(getattr(r, "error", ""))})
"""


def _pylogix(name, description, body, expect="ok"):
    return Scenario("pylogix", name, description,
                    script=PYLOGIX_PRELUDE + textwrap.indent(textwrap.dedent(body), "    ")
                    + "print(json.dumps(out))\n", expect=expect)


def _pycomm3(name, description, body, expect="ok"):
    return Scenario("pycomm3", name, description,
                    script=PYCOMM3_PRELUDE + textwrap.dedent(body) + "print(json.dumps(out))\n",
                    expect=expect)


SCENARIOS = [
    _cp("read-single", "Read Tag SCADA[1] (1 INT) via Unconnected Send, route 1/0", "-p", "SCADA[1]"),
    _cp("read-range", "Read Tag SCADA[0-9] (10 INTs)", "-p", "SCADA[0-9]"),
    _cp("write-range", "Write Tag SCADA[1-3]=(INT)1,2,3, then read SCADA[0-4] back",
        "-p", "SCADA[1-3]=(INT)1,2,3", "SCADA[0-4]"),
    _cp("read-multiple", "Multiple Service Packet (--multiple) of several reads",
        "-p", "--multiple", "SCADA[0]", "SCADA[1]", "SCADA[2-4]", "FLOAT[0]", "COUNT[1]"),
    _cp("read-fragmented", "Read Tag Fragmented (-f) of SCADA[0-499]: the reply carries the first"
        " 488 bytes with status 0x06 (partial transfer) and the original client stops there",
        "-p", "-f", "SCADA[0-499]"),
    _cp("read-fragmented-offsets", "Read Tag Fragmented of all of SCADA[0-499] as three requests at"
        " byte offsets 0, 488, 976 (the original client sends one request per operation and does"
        " not follow a partial transfer by itself)",
        "-p", "SCADA[0-499]+0", "SCADA[0-499]+488", "SCADA[0-499]+976"),
    _cp("read-large", "Read Tag (no -f) of SCADA[0-499]: 1000 bytes in one reply, or an error",
        "-p", "SCADA[0-499]"),
    _cp("write-fragmented", "Write Tag Fragmented (-f) SCADA[10-12]=(INT)7,8,9 then read back",
        "-p", "-f", "SCADA[10-12]=(INT)7,8,9", "SCADA[10-12]"),
    _cp("real", "REAL tag: write FLOAT[0-2]=(REAL)1.5,2.5,-3.25, read FLOAT[0-3]",
        "-p", "FLOAT[0-2]=(REAL)1.5,2.5,-3.25", "FLOAT[0-3]"),
    _cp("dint", "DINT tag: write COUNT[0-1]=(DINT)70000,-5, read COUNT[0-3]",
        "-p", "COUNT[0-1]=(DINT)70000,-5", "COUNT[0-3]"),
    _cp("get-attribute", "Get Attribute Single @1/1/1 (Identity vendor id) and @1/1/7 (product name)"
        " via cpppo.server.enip.get_attribute", "--print", "@1/1/1", "@1/1/7",
        module="cpppo.server.enip.get_attribute"),
    _cp("attribute-readtag", "the client module given '@1/1/1': it sends a Read Tag to the"
        " attribute path, which the simulator rejects", "-p", "@1/1/1", expect="error"),
    _cp("list-identity", "List Identity (-i) over TCP", "-p", "-i"),
    _cp("list-services", "List Services (-s) over TCP", "-p", "-s"),
    _cp("list-interfaces", "List Interfaces (-I) over TCP", "-p", "-I"),
    _pylogix("read-single", "pylogix Read('SCADA[1]') (Micro800=False: Forward Open, connected)", """
        show("Read('SCADA[1]')", comm.Read("SCADA[1]"))
        """),
    _pylogix("read-count", "pylogix Read('SCADA[0]', count=10)", """
        show("Read('SCADA[0]', count=10)", comm.Read("SCADA[0]", count=10))
        """),
    _pylogix("write", "pylogix Write('SCADA[2]', 42) then Read('SCADA[2]')", """
        show("Write('SCADA[2]', 42)", comm.Write("SCADA[2]", 42))
        show("Read('SCADA[2]')", comm.Read("SCADA[2]"))
        """),
    _pycomm3("identity-unconnected", "pycomm3 CIPDriver.generic_message Get Attribute Single"
             " @1/1/1 and @1/1/7, connected=False (UCMM, no route)", """
        from pycomm3 import CIPDriver, Services, UINT, SHORT_STRING
        with CIPDriver("127.0.0.1:%d" % PORT) as drv:
            show("GAS @1/1/1", drv.generic_message(service=Services.get_attribute_single, class_code=1,
                 instance=1, attribute=1, data_type=UINT, connected=False, name="vendor"))
            show("GAS @1/1/7", drv.generic_message(service=Services.get_attribute_single, class_code=1,
                 instance=1, attribute=7, data_type=SHORT_STRING, connected=False, name="product"))
        """),
    _pycomm3("identity-unconnected-send", "pycomm3 CIPDriver.generic_message Get Attribute Single"
             " @1/1/1 wrapped in Unconnected Send, route 1/0", """
        from pycomm3 import CIPDriver, Services, UINT
        with CIPDriver("127.0.0.1:%d/1/0" % PORT) as drv:
            show("GAS @1/1/1 via Unconnected Send", drv.generic_message(
                 service=Services.get_attribute_single, class_code=1, instance=1, attribute=1,
                 data_type=UINT, connected=False, unconnected_send=True, route_path=True, name="vendor"))
        """),
    _pycomm3("identity-connected", "pycomm3 CIPDriver.generic_message Get Attribute Single @1/1/1"
             " connected=True: Forward Open, then connected messaging", """
        from pycomm3 import CIPDriver, Services, UINT
        try:
            with CIPDriver("127.0.0.1:%d/1/0" % PORT) as drv:
                show("GAS @1/1/1 connected", drv.generic_message(service=Services.get_attribute_single,
                     class_code=1, instance=1, attribute=1, data_type=UINT, connected=True, name="vendor"))
        except Exception as exc:
            out.append({"exception": repr(exc)})
        """),
    _pycomm3("list-identity", "pycomm3 CIPDriver.list_identity (List Identity over TCP)", """
        from pycomm3 import CIPDriver
        show("list_identity", CIPDriver.list_identity("127.0.0.1:%d" % PORT))
        """),
    _pycomm3("logix-open", "pycomm3 LogixDriver.open() (Forward Open, controller info, tag list"
             " upload): expected to fail against the original", """
        from pycomm3 import LogixDriver
        try:
            drv = LogixDriver("127.0.0.1:%d" % PORT)
            drv.open()
            out.append({"opened": True, "info": repr(drv.info)})
            drv.close()
        except Exception as exc:
            out.append({"exception": repr(exc)})
        """, expect="error"),
    _pycomm3("logix-read-noinit", "pycomm3 LogixDriver(init_tags=False, init_program_tags=False)"
             " read('SCADA[1]') and write('SCADA[2]', 42): the connection comes up, but without the"
             " tag list pycomm3 refuses both on its own ('Tag doesn't exist'), sending no Read Tag", """
        from pycomm3 import LogixDriver
        try:
            with LogixDriver("127.0.0.1:%d" % PORT, init_tags=False, init_program_tags=False) as drv:
                show("read SCADA[1]", drv.read("SCADA[1]"))
                show("write SCADA[2]=42", drv.write(("SCADA[2]", 42)))
        except Exception as exc:
            out.append({"exception": repr(exc)})
        """, expect="error"),
]


# ---------------------------------------------------------------------------------------------
# Capture
# ---------------------------------------------------------------------------------------------

def _versions_peer():
    code = ("import json, sys, importlib.metadata as m\n"
            "v = {'python': sys.version.split()[0]}\n"
            "for p in ('pylogix', 'pycomm3'):\n"
            "    try: v[p] = m.version(p)\n"
            "    except Exception: v[p] = None\n"
            "print(json.dumps(v))\n")
    done = subprocess.run([peer_python(), "-I", "-c", code], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=True)
    return json.loads(done.stdout)


_VERSIONS = {}


def versions():
    if not _VERSIONS:
        _VERSIONS["original"] = original.original_versions()
        _VERSIONS["peer"] = _versions_peer()
        try:
            ts = subprocess.run(["tshark", "--version"], capture_output=True, text=True, timeout=30)
            _VERSIONS["tshark"] = ts.stdout.splitlines()[0] if ts.returncode == 0 else None
        except (OSError, subprocess.SubprocessError, IndexError):
            _VERSIONS["tshark"] = None
    return _VERSIONS


def _run_client(sc: Scenario, port: int):
    """-> (command as recorded, CompletedProcess or None, timed_out?)"""
    if sc.client == "cpppo525":
        shown = ["python", "-m", sc.module, "--address", "127.0.0.1:<port>", *sc.args]
        try:
            return shown, original.run_original_client(list(sc.args), port, module=sc.module,
                                                       timeout=CLIENT_TIMEOUT), False
        except subprocess.TimeoutExpired as exc:
            return shown, exc, True
    script = f"PORT = {int(port)}\n" + sc.script
    shown = ["python", "-c", sc.script.strip()]
    with tempfile.TemporaryDirectory(prefix="cpppo-capture-") as cwd:
        try:
            return shown, subprocess.run([peer_python(), "-I", "-c", script], capture_output=True,
                                         text=True, timeout=CLIENT_TIMEOUT, cwd=cwd,
                                         stdin=subprocess.DEVNULL), False
        except subprocess.TimeoutExpired as exc:
            return shown, exc, True


def _text(x):
    if x is None:
        return ""
    x = x.decode("utf-8", "replace") if isinstance(x, bytes) else x
    return x.replace(str(original.venv_path()), "<original-venv>").replace(str(REPO_ROOT), "<repo>")


def capture(sc: Scenario) -> dict:
    """Run one scenario against a fresh original simulator through the proxy; -> the vector dict."""
    v = versions()
    with original.start_original_simulator(sc.tags, sc.sim_args) as sim:
        with RecordingProxy(sim.port) as proxy:
            shown, done, timed_out = _run_client(sc, proxy.port)
            proxy.drain(quiet=0.3, timeout=5.0)
        sim_log = sim.output()
    frames = enip_frames(proxy.chunks, strict=False)
    trailing = sum(len(c.data) for c in proxy.chunks) - sum(len(f.data) for f in frames)
    out, errors, unanswered = [], [], []
    pending = {}                                    # (conn, command, context) -> index of request
    for i, f in enumerate(frames):
        note, error = describe(f.data, f.dir)
        key = (f.conn, f.command, f.data[12:20])
        if f.dir == "c2s":
            pending.setdefault(key, []).append(i)
        else:
            reqs = pending.get(key)
            if reqs:
                note += f" (answers frame {reqs.pop(0)})"
            else:
                note += " (matches no request)"
        if error:
            errors.append(i)
        out.append({"dir": f.dir, "hex": f.data.hex(), "note": note, "conn": f.conn})
    for (_conn, command, _), idxs in pending.items():
        if command == 0x0066:                       # UnRegisterSession: no reply, by definition
            for i in idxs:
                out[i]["note"] += " (no reply expected)"
        else:
            unanswered.extend(idxs)
    for i in sorted(unanswered):
        out[i]["note"] += " (NO REPLY)"
    closes = []
    for c in sorted(proxy.closes, key=lambda c: c.t):
        after = max([i for i, f in enumerate(frames) if f.t <= c.t and f.conn == c.conn], default=None)
        closes.append({"conn": c.conn, "closed_by": "client" if c.dir == "c2s" else "server",
                       "after_frame": after})
    client_versions = ({"cpppo": v["original"]["cpppo"], "python": v["original"]["python"]}
                       if sc.client == "cpppo525" else
                       {sc.client: v["peer"].get(sc.client), "python": v["peer"]["python"]})
    header = {
        "client": sc.client,
        "scenario": sc.name,
        "description": sc.description,
        "expected": sc.expect,
        "tools": {
            "server": f"cpppo {v['original']['cpppo']} (original, from the package index)"
                      f" on Python {v['original']['python']}, greenery {v['original']['greenery']}",
            "client": client_versions,
            "capture": "tests/capture_vectors.py via tests/peers/proxy.py RecordingProxy",
            "platform": platform.platform(),
        },
        "simulator": {
            "command": ["python", "-m", "cpppo.server.enip", "--no-config", "--address-output",
                        "--address", "127.0.0.1:<port>", *sc.sim_args, *sc.tags],
        },
        "client_command": shown,
        "client_exit": None if timed_out else done.returncode,
        "client_timed_out": timed_out,
        "client_stdout": _text(done.stdout)[-4000:],
        "client_stderr": _text(done.stderr)[-4000:],
        "simulator_log_tail": _text("\n".join(
            line for line in sim_log.splitlines()[-40:] if "WARNING" in line or "ERROR" in line))[-3000:],
        "connections": proxy.connections,
        "frame_count": {"c2s": sum(f.dir == "c2s" for f in frames),
                        "s2c": sum(f.dir == "s2c" for f in frames)},
        "errors": errors,
        "unanswered": sorted(unanswered),
        "closes": closes,
        "trailing_bytes": trailing,
        "proxy_errors": [e for _, e in proxy.errors],
        "captured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {"format": FORMAT, "header": header, "frames": out}


def write_vector(sc: Scenario, outdir: Path = VECTOR_DIR) -> Path:
    vec = capture(sc)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{sc.id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(vec, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("only", nargs="*", help="scenario ids (or prefixes) to capture; default all")
    ap.add_argument("-l", "--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("-o", "--outdir", default=str(VECTOR_DIR))
    args = ap.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or any(s.id.startswith(o) for o in args.only)]
    if args.list:
        for s in chosen:
            print(f"{s.id:40} {s.description}")
        return 0
    for s in chosen:
        path = write_vector(s, Path(args.outdir))
        h = json.loads(path.read_text())["header"]
        print(f"{s.id:40} c2s {h['frame_count']['c2s']:3} s2c {h['frame_count']['s2c']:3}"
              f" errors {h['errors']} unanswered {h['unanswered']} exit {h['client_exit']}"
              f"{' TIMEOUT' if h['client_timed_out'] else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
