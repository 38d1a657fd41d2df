"""The server's own CPU time, for benchmarks: ``LATENT_EXPLORER_CPU_PROBE=<socket path>``.

psutil reads another process's CPU in 10 ms clock ticks, too coarse for a slider release that
costs the server 10-30 ms. With the variable set, the server answers every connection to that
UNIX socket with its ``time.process_time_ns()`` (every thread, exited ones included, in ns)
and closes it; a blocked ``accept`` on a daemon thread costs nothing. Off by default.
"""

from __future__ import annotations

import os
import socket
import threading
import time

ENV = "LATENT_EXPLORER_CPU_PROBE"


def serve(path: str) -> threading.Thread:
    """Answer connections on UNIX socket ``path`` with this process's CPU time in ns."""
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)

    def loop() -> None:
        while True:
            conn, _ = server.accept()
            with conn:
                conn.sendall(str(time.process_time_ns()).encode())

    thread = threading.Thread(target=loop, name="cpu-probe", daemon=True)
    thread.start()
    return thread


def read(path: str, timeout: float = 5.0) -> float:
    """The server's CPU seconds so far (from a probe at ``path``)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        return int(conn.recv(64).decode()) / 1e9
