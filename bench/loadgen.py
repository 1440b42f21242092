"""A fast QoS 1 publisher for benchmarks and tests: raw MQTT 3.1.1 over one socket.

paho publishes ~8k msgs/s here, and `mosquitto_pub -l` exits without waiting for its
PUBACKs (docs/architecture.md, the broker facts), so neither loads a broker fast enough to
measure a consumer. This one pipelines PUBLISH packets in large writes, keeps at most
``window`` unacknowledged, and returns only when every message has its PUBACK: published
means the broker has it.
"""

from __future__ import annotations

import select
import socket
import struct
import time
import uuid
from collections.abc import Iterable

from fleetcare.errors import TransientError
from fleetcare.settings import mqtt_host_port

_CONNECT, _CONNACK, _PUBLISH_QOS1, _PUBACK, _DISCONNECT = 0x10, 0x20, 0x32, 0x40, 0xE0


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str16(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


def _connect_packet(client_id: str, username: str | None, password: str | None,
                    keepalive: int) -> bytes:
    flags = 0x02  # clean session: a publisher needs no state
    payload = _str16(client_id.encode())
    if username is not None:
        flags |= 0x80
        payload += _str16(username.encode())
        if password is not None:
            flags |= 0x40
            payload += _str16(password.encode())
    body = _str16(b"MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload
    return bytes([_CONNECT]) + _remaining_length(len(body)) + body


def publish(url: str, messages: Iterable[tuple[str, bytes]], *, window: int = 2000,
            username: str | None = None, password: str | None = None,
            timeout: float = 120.0) -> int:
    """Publish every (topic, payload) at QoS 1; return the count once all are acked."""
    host, port = mqtt_host_port(url)
    sock = socket.create_connection((host, port), timeout=10)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(_connect_packet(f"fc-loadgen-{uuid.uuid4().hex[:8]}", username,
                                     password, 60))
        ack = _recv_exact(sock, 4)
        if ack[0] != _CONNACK or ack[3] != 0:
            raise TransientError(f"broker refused the publisher: CONNACK {ack!r}")
        sock.setblocking(False)
        outstanding: set[int] = set()
        next_mid = 1
        sent = acked = 0
        buf = bytearray()
        inbuf = b""
        out = bytearray()
        deadline = time.monotonic() + timeout
        it = iter(messages)
        exhausted = False
        while not exhausted or outstanding or out:
            # Fill the output buffer up to the window.
            while not exhausted and len(outstanding) < window and len(out) < 1 << 20:
                try:
                    topic, payload = next(it)
                except StopIteration:
                    exhausted = True
                    break
                while next_mid in outstanding:
                    next_mid = next_mid % 65535 + 1
                mid = next_mid
                next_mid = next_mid % 65535 + 1
                t = topic.encode()
                body_len = 2 + len(t) + 2 + len(payload)
                buf.clear()
                buf.append(_PUBLISH_QOS1)
                buf += _remaining_length(body_len)
                buf += _str16(t)
                buf += struct.pack("!H", mid)
                buf += payload
                out += buf
                outstanding.add(mid)
                sent += 1
            readable, writable, _ = select.select([sock], [sock] if out else [], [], 1.0)
            if writable and out:
                try:
                    n = sock.send(out)
                    del out[:n]
                except BlockingIOError:
                    pass
            if readable:
                data = sock.recv(1 << 16)
                if not data:
                    raise TransientError("broker closed the publisher's connection")
                inbuf += data
                # PUBACKs are 4 bytes: 0x40 0x02 mid_hi mid_lo.
                usable = len(inbuf) - len(inbuf) % 4
                for i in range(0, usable, 4):
                    if inbuf[i] != _PUBACK:
                        raise TransientError(f"unexpected packet 0x{inbuf[i]:02x} from broker")
                    outstanding.discard((inbuf[i + 2] << 8) | inbuf[i + 3])
                    acked += 1
                inbuf = inbuf[usable:]
                deadline = time.monotonic() + timeout
            if time.monotonic() > deadline:
                raise TransientError(f"no PUBACK for {timeout:.0f}s ({acked}/{sent} acked)")
        sock.setblocking(True)
        sock.sendall(bytes([_DISCONNECT, 0]))
        return sent
    finally:
        sock.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise TransientError("broker closed the connection")
        data += chunk
    return data
