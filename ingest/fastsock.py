"""Cheaper paho I/O for a high-rate subscriber: read-ahead socket, batched PUBACKs.

paho reads every packet with three or more ``recv`` calls (command byte, each length
byte, body) and one ``select`` per packet, and writes every PUBACK with its own
``send``: at ~300-byte messages the system calls cost more than our decoding and
database work together (docs/architecture.md: the MQTT client is the limit). Two fixes:

- ``BufferedClient`` wraps paho's plain TCP socket so ``recv`` is served from a 64 KiB
  read-ahead buffer. It reports buffered bytes through ``pending()``, the hook paho
  already uses for TLS sockets, so paho never waits in ``select`` while data is buffered.
- ``ack_many`` queues one write holding all PUBACKs of a committed batch.

Both use paho internals (``_create_socket``, ``_packet_queue``) that are stable across
paho 2.x, which pyproject pins; each falls back to the public API when they are missing,
and ``tests/test_ingest_fastsock.py`` checks them against the running paho.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

READ_AHEAD = 64 * 1024
_PUBACK = 0x40


class _ReadAheadSocket:
    """A non-blocking TCP socket whose recv() is served from a read-ahead buffer."""

    __slots__ = ("_sock", "_buf", "_pos")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail <= 0:
            data = self._sock.recv(READ_AHEAD if n < READ_AHEAD else n)
            if len(data) <= n:
                return data
            self._buf = data
            self._pos = n
            return data[:n]
        if n >= avail:  # a short read: paho keeps what it got and asks again
            self._buf = b""
            self._pos = 0
            return buf[pos:] if pos else buf
        self._pos = pos + n
        return buf[pos:pos + n]

    def pending(self) -> int:
        return len(self._buf) - self._pos

    def send(self, data: bytes | bytearray) -> int:
        return self._sock.send(data)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    """paho Client whose plain-TCP socket reads ahead; TLS and websockets are untouched."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if type(sock) is socket.socket:
            return _ReadAheadSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho handles one packet per select() for us; drain what is already buffered.
        rc = super().loop_read(max_packets)
        budget = 10_000
        while rc == mqtt.MQTT_ERR_SUCCESS and budget:
            sock = self._sock
            if sock is None or not isinstance(sock, _ReadAheadSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
            budget -= 1
        return rc


def ack_many(client: mqtt.Client, mids: Sequence[int]) -> None:
    """Send PUBACKs for QoS 1 messages ``mids`` (manual-ack mode) in one socket write."""
    queue = getattr(client, "_packet_queue", None)
    if queue is None or not mids:
        for mid in mids:
            client.ack(mid, 1)
        return
    pack = struct.Struct("!BBH").pack
    blob = b"".join([pack(_PUBACK, 2, mid) for mid in mids])
    queue(_PUBACK, blob, 0, 0)
