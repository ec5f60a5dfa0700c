"""A WebSocket upgrade through Envoy reaches a backend on a route with `websockets: true`, and not on one without."""
import os
import socket
import ssl
import threading

from harness import FIXTURES, Chancery, Envoy, wait_until
from test_example_site import HTTPS_PORT

SITE = os.path.join(FIXTURES, "example-site")


class UpgradeEchoBackend:
    """Answers an Upgrade request with 101 and then echoes every byte back (enough to see the tunnel work)."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.running = True
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            if b"upgrade: websocket" not in data.lower():
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            while chunk := conn.recv(4096):
                conn.sendall(chunk)

    def stop(self):
        self.running = False
        self.sock.close()


def upgrade(host):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=5), server_hostname=host)
    sock.sendall(f"GET /socket HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head.split(b"\r\n", 1)[0]


def test_websocket_upgrade_only_where_enabled():
    dav = UpgradeEchoBackend(18082)  # the example site's dav backend: `websockets: true`
    www = UpgradeEchoBackend(18081)  # www: no websockets
    chancery = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="ws")
        sock, status = wait_until(lambda: (lambda r: r if b" 101 " in r[1] else None)(upgrade("dav.example.test")),
                                  timeout=30, what="a 101 through envoy")
        sock.sendall(b"ping through the tunnel")
        assert sock.recv(100) == b"ping through the tunnel"
        sock.close()
        other, status = upgrade("www.example.test")
        other.close()
        assert b" 101 " not in status, status  # Envoy refuses the upgrade on a route without websockets
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        dav.stop()
        www.stop()
