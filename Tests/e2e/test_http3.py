"""HTTP/3 through the real Envoy: an HTTPS listener with `http3: true` advertises QUIC with alt-svc over TCP and
answers an HTTP/3 request (aioquic's client) on the UDP port of the same number, with the site's certificate."""
import asyncio
import hashlib
import json
import os
import shutil
import ssl
import tempfile
import textwrap

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration

from harness import FIXTURES, Backend, Chancery, Envoy, free_port, wait_until
from test_passthrough import https_get


class H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.waiting = {}

    async def get(self, authority, path):
        stream = self._quic.get_next_available_stream_id()
        self.http.send_headers(stream, [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode()),
                                        (b":path", path.encode())], end_stream=True)
        done = asyncio.get_running_loop().create_future()
        self.waiting[stream] = ([], [], done)
        self.transmit()
        return await asyncio.wait_for(done, 5)

    def quic_event_received(self, event):
        for h3_event in self.http.handle_event(event):
            entry = self.waiting.get(getattr(h3_event, "stream_id", None))
            if entry is None:
                continue
            headers, body, done = entry
            if isinstance(h3_event, HeadersReceived):
                headers.extend(h3_event.headers)
            elif isinstance(h3_event, DataReceived):
                body.append(h3_event.data)
            if getattr(h3_event, "stream_ended", False) and not done.done():
                done.set_result((dict(headers), b"".join(body)))


def h3_get(port, server_name, path):
    async def run():
        configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=server_name)
        configuration.verify_mode = ssl.CERT_NONE
        async with connect("127.0.0.1", port, configuration=configuration, create_protocol=H3Client) as client:
            headers, body = await client.get(server_name, path)
            der = client._quic.tls._peer_certificate.public_bytes(encoding=__import__(
                "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
            return headers, body, hashlib.sha256(der).hexdigest()
    return asyncio.run(asyncio.wait_for(run(), 10))


def test_http3_answers_on_the_udp_port_and_tcp_advertises_it():
    work = tempfile.mkdtemp(prefix="chancery-http3-")
    certs = os.path.join(work, "certs")
    shutil.copytree(os.path.join(FIXTURES, "example-site", "certs", "example.test"), os.path.join(certs, "example.test"))
    site = hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(os.path.join(certs, "example.test", "tls.crt")).read()))
    port, backend_port = free_port(), free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: https
                address: 127.0.0.1
                port: {port}
                tls: {{ certificate: example.test }}
                http3: true
                hosts:
                  - domains: [www.example.test]
                    routes: [{{ prefix: /, cluster: app }}]
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, certs)
    envoy = None
    try:
        envoy = Envoy(chancery, node="http3-1")
        # Over TCP: the answer advertises HTTP/3 on the same port.
        fingerprint, status, _ = wait_until(lambda: https_get(port, "www.example.test"), timeout=30, what="TLS")
        assert status == 200
        tcp_headers = {}
        import http.client
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
        connection.request("GET", "/", headers={"Host": "www.example.test"})
        response = connection.getresponse()
        response.read()
        tcp_headers = {k.lower(): v for k, v in response.getheaders()}
        connection.close()
        assert tcp_headers["alt-svc"] == f'h3=":{port}"; ma=86400', tcp_headers
        # Over QUIC: HTTP/3, the same certificate, the same routes and headers.
        headers, body, quic_fingerprint = wait_until(lambda: h3_get(port, "www.example.test", "/who"), timeout=20,
                                                     what="an HTTP/3 answer")
        assert headers[b":status"] == b"200", headers
        assert json.loads(body)["backend"] == "app"
        assert quic_fingerprint == site.hexdigest() == fingerprint
        assert b"strict-transport-security" in headers
        stats = envoy.stats()
        assert stats.get("http.https.downstream_cx_http3_total", 0) >= 1, {
            k: v for k, v in stats.items() if "http3" in k}
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()
