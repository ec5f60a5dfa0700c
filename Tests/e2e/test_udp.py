"""UDP proxying through the real Envoy: datagrams reach the cluster and answers come back to each client on its own
session, on a port that a TCP listener of the same number shares."""
import os
import socket
import tempfile
import textwrap
import threading

from harness import Chancery, Envoy, free_port, wait_until


class UDPEcho:
    """Answers each datagram with `echo:` + the datagram + the address it came from."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.running = True
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            self.sock.sendto(b"echo:" + data + f"|{peer[1]}".encode(), peer)

    def stop(self):
        self.running = False
        self.sock.close()


def exchange(port, payload):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(1)
        client.sendto(payload, ("127.0.0.1", port))
        return client.recvfrom(65535)[0]


def test_datagrams_are_echoed_through_envoy():
    work = tempfile.mkdtemp(prefix="chancery-udp-")
    os.makedirs(os.path.join(work, "certs"))
    port = free_port()  # free for TCP; the UDP listener takes the same number
    echo = UDPEcho()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: dns
                address: 127.0.0.1
                port: {port}
                udp: {{ cluster: echo, idle_timeout: 30s }}
            clusters:
              - {{ name: echo, endpoints: [127.0.0.1:{echo.port}] }}
        """))
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="udp-1")
        first = wait_until(lambda: exchange(port, b"hello"), timeout=30, what="a datagram echoed through Envoy")
        assert first.startswith(b"echo:hello|"), first
        # Two clients, two sessions: each gets its own answer, from its own upstream socket.
        a, b = exchange(port, b"from-a"), exchange(port, b"from-b")
        assert a.startswith(b"echo:from-a|") and b.startswith(b"echo:from-b|")
        assert a.split(b"|")[1] != b.split(b"|")[1], (a, b)
        # Large datagrams pass whole.
        big = bytes(range(256)) * 32
        assert exchange(port, big).startswith(b"echo:" + big + b"|")
        stats = envoy.stats()
        assert stats.get("udp.dns.downstream_sess_total", 0) >= 3, {k: v for k, v in stats.items() if "udp" in k}
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        echo.stop()
