"""A recording TCP proxy on 127.0.0.1, and an EtherNet/IP frame splitter.

    with RecordingProxy(target_port) as proxy:        # listens on 127.0.0.1:<proxy.port>
        ... point a client at proxy.port ...
    frames = enip_frames(proxy.chunks)                 # after stop(): the whole conversation

Every chunk received from either side is recorded as a Chunk(t, conn, dir, data), dir "c2s"
(client to server) or "s2c"; each end-of-stream as a Chunk with empty data in .closes.  One
thread accepts, one thread per connection forwards in both directions (select() on both
sockets); half-closes are propagated.  stop() closes everything and joins every thread.
"""

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
ENCAP_HEADER = 24


@dataclass(frozen=True)
class Chunk:
    t: float            # time.monotonic() when received
    conn: int           # connection number, 0, 1, ... in accept order
    dir: str            # "c2s" or "s2c"
    data: bytes


@dataclass
class Frame:
    conn: int
    dir: str
    data: bytes
    t: float            # time its last byte arrived
    index: int = 0      # position within its connection and direction
    command: int = field(init=False)
    length: int = field(init=False)

    def __post_init__(self):
        self.command, self.length = struct.unpack_from("<HH", self.data, 0)


class SplitError(ValueError):
    pass


def split_frames(data: bytes):
    """Split one direction's byte stream into EtherNet/IP encapsulation frames.

    Each frame is the 24-byte header plus the UINT length (little-endian, offset 2) that follows it.
    Returns (frames, remainder): remainder holds any trailing incomplete frame (empty when the
    stream split cleanly).
    """
    frames, pos = [], 0
    while len(data) - pos >= ENCAP_HEADER:
        length, = struct.unpack_from("<H", data, pos + 2)
        end = pos + ENCAP_HEADER + length
        if end > len(data):
            break
        frames.append(bytes(data[pos:end]))
        pos = end
    return frames, bytes(data[pos:])


def enip_frames(chunks, strict=True):
    """Split recorded chunks into Frames, per connection and direction, in arrival order.

    Frames are ordered by the time their last byte arrived (ties: c2s first).  With strict=True a
    trailing partial frame in any stream raises SplitError; otherwise it is dropped.
    """
    streams = {}
    for ch in chunks:
        streams.setdefault((ch.conn, ch.dir), []).append(ch)
    frames = []
    for (conn, d), chs in streams.items():
        buf, pos, index = bytearray(), 0, 0
        for ch in chs:
            buf += ch.data
            while len(buf) - pos >= ENCAP_HEADER:
                length, = struct.unpack_from("<H", buf, pos + 2)
                end = pos + ENCAP_HEADER + length
                if end > len(buf):
                    break
                frames.append(Frame(conn, d, bytes(buf[pos:end]), ch.t, index))
                index += 1
                pos = end
        if pos != len(buf) and strict:
            raise SplitError(f"connection {conn} {d}: {len(buf) - pos} trailing bytes of an incomplete frame")
    frames.sort(key=lambda f: (f.t, f.dir != "c2s", f.conn, f.index))
    return frames


class RecordingProxy:
    """Listen on 127.0.0.1:0, forward each connection to 127.0.0.1:<target_port>, record chunks."""

    def __init__(self, target_port, target_host=LOOPBACK, bufsize=65536):
        if target_host not in (LOOPBACK, "localhost"):
            raise ValueError("the recording proxy only forwards to loopback")
        self.target = (LOOPBACK, int(target_port))
        self.bufsize = bufsize
        self.chunks = []
        self.errors = []                # (conn, repr(exception)) seen while forwarding
        self.closes = []                # Chunk(t, conn, dir, b"") when that side sent EOF (or reset)
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []
        self._sockets = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"proxy-accept-{self.port}",
                                          daemon=True)
        self._acceptor.start()

    # -- recording ---------------------------------------------------------------------------
    def _record(self, conn, d, data):
        with self._lock:
            self.chunks.append(Chunk(time.monotonic(), conn, d, bytes(data)))

    def stream(self, direction, conn=None) -> bytes:
        """All bytes seen in one direction ("c2s"/"s2c"), optionally for one connection."""
        with self._lock:
            return b"".join(c.data for c in self.chunks
                            if c.dir == direction and (conn is None or c.conn == conn))

    def frames(self, strict=True):
        with self._lock:
            chunks = list(self.chunks)
        return enip_frames(chunks, strict=strict)

    # -- forwarding --------------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._lock:
                conn = self.connections
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn, client),
                                 name=f"proxy-conn-{self.port}-{conn}", daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()

    def _serve(self, conn, client):
        upstream = None
        try:
            with self._lock:
                self._sockets.add(client)
            upstream = socket.create_connection(self.target, timeout=5)
            with self._lock:
                self._sockets.add(upstream)
            for s in (client, upstream):
                s.setblocking(True)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = {client: (upstream, "c2s"), upstream: (client, "s2c")}
            open_in = {client, upstream}
            while open_in and not self._stopping.is_set():
                readable, _, _ = select.select(list(open_in), [], [], 0.1)
                for s in readable:
                    other, d = peer[s]
                    try:
                        data = s.recv(self.bufsize)
                    except ConnectionResetError:
                        data = b""
                    if data:
                        self._record(conn, d, data)
                        try:
                            other.sendall(data)
                        except OSError as exc:
                            self.errors.append((conn, repr(exc)))
                            open_in.clear()
                            break
                    else:
                        with self._lock:
                            self.closes.append(Chunk(time.monotonic(), conn, d, b""))
                        open_in.discard(s)
                        try:
                            other.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
        except OSError as exc:
            self.errors.append((conn, repr(exc)))
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.close()
                    finally:
                        with self._lock:
                            self._sockets.discard(s)

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self, timeout=5.0):
        """Stop accepting, close every socket, join every thread.  Idempotent."""
        self._stopping.set()
        try:
            self._listener.close()
        except OSError:
            pass
        self._acceptor.join(timeout)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout)
        with self._lock:
            leftovers = list(self._sockets)
            self._sockets.clear()
        for s in leftovers:
            try:
                s.close()
            except OSError:
                pass
        alive = [t.name for t in threads + [self._acceptor] if t.is_alive()]
        if alive:
            raise RuntimeError(f"proxy threads did not stop: {alive}")

    def drain(self, quiet=0.2, timeout=5.0):
        """Wait until no chunk has arrived for ``quiet`` seconds (and all connections closed), or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.chunks[-1].t if self.chunks else 0.0
                busy = any(t.is_alive() for t in self._threads)
            if not busy and time.monotonic() - last >= quiet:
                return True
            time.sleep(0.05)
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
