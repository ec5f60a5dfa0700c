"""A WebSocket upgrade through Envoy reaches a backend on a route with `websockets: true`, and not on one without."""
import os
import socket
import ssl
import threading

import pytest

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


@pytest.fixture(scope="module")
def backends():
    """The example site's dav backend (`websockets: true`) and www (no websockets), on their fixed ports."""
    dav, www = UpgradeEchoBackend(18082), UpgradeEchoBackend(18081)
    yield dav, www
    dav.stop()
    www.stop()


def test_websocket_upgrade_only_where_enabled(backends):
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


def h2_websocket(host, payload):
    """A WebSocket over HTTP/2 (RFC 8441's extended CONNECT); returns (status, the bytes echoed back)."""
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=5), server_hostname=host)
    assert sock.selected_alpn_protocol() == "h2"
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    status, echoed, sent, connect_allowed = None, b"", False, False
    while True:
        data = sock.recv(65535)
        if not data:
            break
        try:
            events = connection.receive_data(data)
        except h2.exceptions.ProtocolError:  # Envoy closed the connection (GOAWAY) with frames behind it
            break
        for event in events:
            if isinstance(event, h2.events.RemoteSettingsChanged):
                setting = event.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                connect_allowed = connect_allowed or (setting is not None and setting.new_value == 1)
            elif isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers)[b":status"]
                if status == b"200":
                    connection.send_data(1, payload)
            elif isinstance(event, h2.events.DataReceived):
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                echoed += event.data
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset, h2.events.ConnectionTerminated)):
                sock.close()
                return status, echoed
        if connect_allowed and not sent:
            connection.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                                        (":path", "/socket"), (":authority", host), ("sec-websocket-version", "13")])
            sent = True
        sock.sendall(connection.data_to_send())
        if len(echoed) >= len(payload):
            break
    sock.close()
    return status, echoed


def test_websocket_over_http2_only_where_enabled(backends):
    chancery = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="ws-h2")
        status, echoed = wait_until(lambda: (lambda r: r if r[0] == b"200" else None)(
            h2_websocket("dav.example.test", b"ping over h2")), timeout=30, what="an extended CONNECT through envoy")
        assert echoed == b"ping over h2"
        # No websockets on that route: Envoy ends the attempt (it resets the connection), no tunnel is opened.
        status, echoed = h2_websocket("www.example.test", b"x")
        assert status != b"200" and echoed == b"", (status, echoed)
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
