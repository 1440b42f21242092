"""A loopback TCP proxy the test controls: pass traffic, cut it, restore it.

``cut()`` resets every open connection (as a failed link or a restarted NAT would) and
refuses new ones until ``restore()``; clients see connection errors, the server behind
it keeps running. Only 127.0.0.1 targets.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        assert target_host == "127.0.0.1", "loopback targets only"
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._closed = False
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self.connections = 0
        self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                _reset(client)
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)  # an idle database connection is not a fault
            except OSError:
                _reset(client)
                client.close()
                continue
            with self._lock:
                self._socks |= {client, upstream}
                self.connections += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # Either direction ending ends the pair (and wakes the other pump).
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._socks -= {src, dst}

    def cut(self) -> int:
        """Drop every open connection and refuse new ones; returns how many were cut."""
        self._open.clear()
        with self._lock:
            socks, self._socks = self._socks, set()
        for s in socks:
            # shutdown, not just close: it wakes the pump blocked in recv() on the socket
            # (a close from another thread would leave the connection half alive).
            _reset(s)
        self.resets += len(socks) // 2
        return len(socks) // 2

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self.listener.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), like a dropped link, not a polite FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
