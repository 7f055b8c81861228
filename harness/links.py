"""A TCP relay in front of a service (the broker for one edge, a database) that fails the
way plant networks do; the only way to hurt one client's link while the others keep theirs
(e.g. to lose exactly the ack on its way back to one edge).

The relay drops connections (and refuses new ones for a while), stalls them (bytes stop
flowing but the sockets stay open, as behind a dead switch), delays every chunk, and cuts a
connection halfway through a message: half of the next chunk is forwarded, then both sides
are closed, so the broker or the edge sees a truncated MQTT packet.
"""

from __future__ import annotations

import socket
import threading
import time

from harness.processes import free_port


class FaultyLink:
    """One relay in front of a TCP service (the broker for one edge, or the database)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"  # when it stands in front of a broker
        self.refusing = False
        self.latency = 0.0
        self.cuts_done = 0  # connections cut mid-message
        self._flowing = threading.Event()
        self._flowing.set()
        self._cut_armed = False
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"link-{self.port}").start()

    # -- faults ----------------------------------------------------------------------------

    def drop(self, *, refuse: bool = True) -> None:
        """Close every live connection now; with ``refuse`` new ones are turned away too."""
        self.refusing = refuse
        with self._lock:
            links, self._links = self._links, []
        for sock in links:
            _close(sock)

    def accept_again(self) -> None:
        self.refusing = False

    def stall(self) -> None:
        """Stop forwarding bytes; the connections stay open."""
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def delay(self, seconds: float) -> None:
        """Hold every chunk this long before forwarding it (0: no delay)."""
        self.latency = seconds

    def arm_cut(self) -> None:
        """Cut the next connection that carries a chunk, halfway through that chunk."""
        self._cut_armed = True

    def disarm_cut(self) -> None:
        self._cut_armed = False

    def close(self) -> None:
        self._closed = True
        self.flow()
        self.drop(refuse=True)
        self._server.close()

    # -- relay -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refusing:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._links += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self._flowing.wait()
                if self.latency:
                    time.sleep(self.latency)
                if self._cut_armed and len(data) > 1:
                    self._cut_armed = False
                    dst.sendall(data[: len(data) // 2])
                    self.cuts_done += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
