"""Real TCP proxies between a client and a test server: a link that breaks, a link that is slow,
a server that goes away for a while.

Nothing is mocked: the client and the server talk through sockets, and the
proxy does to the bytes what a bad mobile link does. Put in front of
PostgreSQL, `Proxy.go_down()` is a database that stops: new connections
are refused and open ones break, until `come_up()`.
"""

from __future__ import annotations

import socket
import threading
import time

from tests.conftest import free_port


class Proxy:
    """Forwards TCP from its own port to `target_port`, one thread per direction."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.down = False
        self.outages = 0
        self._open: set[socket.socket] = set()  # both ends of every live link, for go_down
        self._open_lock = threading.Lock()
        self._listen()

    def _listen(self):
        self.sock = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again after an outage
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the target is down: so is this link, and the proxy carries on
                c.close()
                continue
            with self._open_lock:
                self._open.update((c, s))
                if self.down:  # accepted just before go_down() took its list: it breaks too
                    for x in (c, s):
                        x.shutdown(socket.SHUT_RDWR)
            state = {"up": 0, "down": 0, "cut": False}
            threading.Thread(target=self._pump, args=(c, s, "up", state), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "down", state), daemon=True).start()

    def forward(self, data: bytes, direction: str, state: dict) -> bool:
        """Called before `data` goes on; False breaks the connection instead."""
        return True

    def _pump(self, src, dst, direction, state):
        try:
            while data := src.recv(65536):
                state[direction] += len(data)
                if not self.forward(data, direction, state):
                    break
                dst.sendall(data)
        except OSError:
            pass
        for x in (src, dst):  # shutdown first: close alone leaves the other pump's recv, and the server, waiting
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()
        with self._open_lock:
            self._open.difference_update((src, dst))

    def go_down(self) -> None:
        """Stop like a server that went away: the port refuses connections and every open link breaks."""
        with self._open_lock:
            self.down, self.outages = True, self.outages + 1
            links = list(self._open)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it (close alone does not)
        except OSError:
            pass
        self.sock.close()
        for x in links:
            try:
                x.shutdown(socket.SHUT_RDWR)  # the pumps see it and close both ends
            except OSError:
                pass

    def come_up(self) -> None:
        """Listen again on the same port after go_down()."""
        with self._open_lock:
            self.down = False
        self._listen()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class CuttingProxy(Proxy):
    """Cuts the first N connections that carry more than `after` bytes in `direction`."""

    def __init__(self, target_port: int, after: int, cuts: int = 1, direction: str = "up"):
        self.after, self.cuts_left, self.direction = after, cuts, direction
        self.cut_count = 0
        self.lock = threading.Lock()
        super().__init__(target_port)

    def forward(self, data, direction, state):
        if direction == self.direction and state[direction] > self.after and not state["cut"]:
            with self.lock:
                if self.cuts_left > 0:
                    self.cuts_left -= 1
                    self.cut_count += 1
                    state["cut"] = True
            if state["cut"]:
                return False
        return True


class SlowLink(Proxy):
    """Carries at most `rate` bytes per second in `direction` (None: full speed), like a rural mobile link."""

    def __init__(self, target_port: int, rate: int | None, direction: str = "up"):
        self.rate, self.direction = rate, direction
        super().__init__(target_port)

    def forward(self, data, direction, state):
        if direction == self.direction and self.rate:
            time.sleep(len(data) / self.rate)
        return True
