"""A tiny pcap writer: wrap EtherNet/IP frames in Ethernet/IPv4/TCP so tshark can dissect them.

    from tests.peers.pcap import write_pcap, tshark_dissect
    write_pcap("x.pcap", [("c2s", request_bytes), ("s2c", reply_bytes)])
    print(tshark_dissect("x.pcap"))                   # tshark -r x.pcap -V (if tshark is installed)

    python -m tests.peers.pcap cpppo/tests/vectors/enip/pylogix-write.json /tmp/w.pcap --dissect

The conversation is one TCP connection 127.0.0.1:<client_port> <-> 127.0.0.1:44818, with an opening
three-way handshake (so tshark sees a proper stream), sequence/acknowledgement numbers that follow
the payload lengths, and correct IPv4 and TCP checksums.  Each payload is one TCP segment (up to
65495 bytes); tshark reassembles EtherNet/IP frames across segments itself if needed.

tshark on Debian: ``apt-get update && echo "wireshark-common wireshark-common/install-setuid boolean
false" | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y tshark``.
"""

import shutil
import struct
import subprocess

ENIP_PORT = 44818
PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1

_MAC_CLIENT = bytes.fromhex("020000000001")
_MAC_SERVER = bytes.fromhex("020000000002")
_IP_CLIENT = bytes([127, 0, 0, 1])
_IP_SERVER = bytes([127, 0, 0, 1])

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_packet(payload: bytes, src_port: int, dst_port: int, seq: int, ack: int, flags: int,
               src_ip=_IP_CLIENT, dst_ip=_IP_SERVER, src_mac=_MAC_CLIENT, dst_mac=_MAC_SERVER,
               ip_id=0) -> bytes:
    """One Ethernet II / IPv4 / TCP packet (20-byte headers, no options) around ``payload``."""
    tcp_len = 20 + len(payload)
    tcp = struct.pack("!HHIIBBHHH", src_port, dst_port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, tcp_len)
    csum = _checksum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    total = 20 + tcp_len
    if total > 65535:
        raise ValueError(f"payload of {len(payload)} bytes does not fit one IPv4 packet")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id & 0xFFFF, 0x4000, 64, 6, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    eth = dst_mac + src_mac + struct.pack("!H", 0x0800)
    return eth + ip + tcp + payload


def pcap_bytes(frames, client_port=50000, server_port=ENIP_PORT, start=1_700_000_000.0,
               step=0.001, handshake=True) -> bytes:
    """The bytes of a pcap file holding ``frames``: an iterable of (dir, payload), dir "c2s"/"s2c"
    (or objects with .dir and .data, eg. tests.peers.proxy.Frame, or dicts with "dir" and "hex")."""
    out = [struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)]
    t0, dt, n = int(round(start * 1e6)), int(round(step * 1e6)), 0   # microseconds, exact
    seq = {"c2s": 1000, "s2c": 5000}
    ip_id = 0

    def emit(direction, payload, flags):
        nonlocal n, ip_id
        other = "s2c" if direction == "c2s" else "c2s"
        ack = seq[other] if flags & ACK else 0
        if direction == "c2s":
            pkt = tcp_packet(payload, client_port, server_port, seq["c2s"], ack, flags,
                             _IP_CLIENT, _IP_SERVER, _MAC_CLIENT, _MAC_SERVER, ip_id)
        else:
            pkt = tcp_packet(payload, server_port, client_port, seq["s2c"], ack, flags,
                             _IP_SERVER, _IP_CLIENT, _MAC_SERVER, _MAC_CLIENT, ip_id)
        ip_id += 1
        sec, usec = divmod(t0 + n * dt, 1_000_000)
        out.append(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
        n += 1

    if handshake:
        # SYN, SYN/ACK, ACK: each SYN consumes one sequence number
        seq["c2s"] -= 1
        seq["s2c"] -= 1
        emit("c2s", b"", SYN)
        seq["c2s"] += 1
        emit("s2c", b"", SYN | ACK)
        seq["s2c"] += 1
        emit("c2s", b"", ACK)
    for frame in frames:
        direction, payload = _normalize(frame)
        if direction not in seq:
            raise ValueError(f"frame direction must be 'c2s' or 's2c', not {direction!r}")
        for pos in range(0, max(len(payload), 1), 65495):
            piece = payload[pos:pos + 65495]
            emit(direction, piece, PSH | ACK)
            seq[direction] += len(piece)
    return b"".join(out)


def _normalize(frame):
    if isinstance(frame, dict):
        return frame["dir"], bytes.fromhex(frame["hex"]) if "hex" in frame else bytes(frame["data"])
    if hasattr(frame, "dir") and hasattr(frame, "data"):
        return frame.dir, bytes(frame.data)
    direction, payload = frame
    return direction, bytes.fromhex(payload) if isinstance(payload, str) else bytes(payload)


def write_pcap(path, frames, **kwds):
    """Write ``frames`` (see pcap_bytes) to a pcap file at ``path``; returns the path."""
    with open(path, "wb") as f:
        f.write(pcap_bytes(frames, **kwds))
    return path


def tshark_available() -> bool:
    return shutil.which("tshark") is not None


def tshark_dissect(path, *args, timeout=60) -> str:
    """``tshark -r path -V [args]`` output (raises RuntimeError if tshark is missing or fails).
    Eg. tshark_dissect(p, "-Y", "enip") or tshark_dissect(p, "-T", "json")."""
    exe = shutil.which("tshark")
    if exe is None:
        raise RuntimeError("tshark is not installed (see tests/peers/pcap.py for the apt command)")
    done = subprocess.run([exe, "-r", str(path), "-V", "-o", "tcp.check_checksum:TRUE", *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"tshark failed (exit {done.returncode}): {done.stderr}")
    return done.stdout


def main(argv=None):
    """python -m tests.peers.pcap VECTOR.json OUT.pcap [--dissect [tshark args...]]"""
    import argparse
    import json
    import sys
    ap = argparse.ArgumentParser(description="Write a golden vector file's frames as a pcap")
    ap.add_argument("vector", help="a cpppo/tests/vectors/enip/*.json file")
    ap.add_argument("pcap", help="the pcap file to write")
    ap.add_argument("--dissect", action="store_true", help="then print tshark -r PCAP -V -Y enip")
    args = ap.parse_args(argv)
    with open(args.vector) as f:
        frames = json.load(f)["frames"]
    write_pcap(args.pcap, frames)
    if args.dissect:
        sys.stdout.write(tshark_dissect(args.pcap, "-Y", "enip"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
