"""Response compression through the real Envoy: the algorithms a client accepts, the listener's preference when it
accepts several, nothing for small bodies, for other content types or on a route that turns it off."""
import gzip
import http.client
import os
import tempfile
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Chancery, Envoy, free_port, wait_until

TEXT = ("Chancery compresses what a backend sends uncompressed. " * 200).encode()


class TextBackend:
    """Answers /small with 50 bytes, /image with a PNG type, anything else with TEXT as text/plain."""

    def __init__(self, port):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body, kind = TEXT, "text/plain; charset=utf-8"
                if self.path.endswith("/small"):
                    body = TEXT[:50]
                elif self.path.endswith("/image"):
                    kind = "image/png"
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def get(port, path, accept=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Accept-Encoding": accept} if accept else {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.getheader("content-encoding"), body


def test_responses_are_compressed_as_the_client_accepts():
    work = tempfile.mkdtemp(prefix="chancery-compression-")
    os.makedirs(os.path.join(work, "certs"))
    port, zstd_port, backend_port = free_port(), free_port(), free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: web
                address: 127.0.0.1
                port: {port}
                compression: true
                hosts:
                  - domains: ["*"]
                    routes:
                      - {{ prefix: /raw/, cluster: app, compression: false }}
                      - {{ prefix: /, cluster: app }}
              - name: zstd
                address: 127.0.0.1
                port: {zstd_port}
                compression: {{ algorithms: [zstd], min_size: 10, content_types: [text/plain] }}
                hosts:
                  - domains: ["*"]
                    routes: [{{ prefix: /, cluster: app }}]
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    backend = TextBackend(backend_port)
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="compression-1")
        wait_until(lambda: get(port, "/")[0] == 200 and get(zstd_port, "/")[0] == 200, timeout=30,
                   what="both listeners")
        status, encoding, body = get(port, "/page", "gzip")
        assert (status, encoding) == (200, "gzip") and gzip.decompress(body) == TEXT and len(body) < len(TEXT) / 5
        status, encoding, body = get(port, "/page", "br")
        assert (status, encoding) == (200, "br") and len(body) < len(TEXT) / 5
        # Both accepted alike: the listener's first algorithm (brotli by default) wins.
        assert get(port, "/page", "gzip, br")[1] == "br"
        assert get(port, "/page", "br;q=0.5, gzip")[1] == "gzip"
        # Not asked, too small (the default minimum is 1024 bytes), not a text type, or turned off on the route.
        assert get(port, "/page")[1:] == (None, TEXT)
        assert get(port, "/small", "gzip")[1:] == (None, TEXT[:50])
        assert get(port, "/image", "gzip")[1] is None
        assert get(port, "/raw/page", "gzip")[1:] == (None, TEXT)
        # A listener with only zstd, a 10-byte minimum and text/plain alone.
        assert get(zstd_port, "/small", "zstd, gzip")[1] == "zstd"
        assert get(zstd_port, "/page", "gzip")[1] is None
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()
