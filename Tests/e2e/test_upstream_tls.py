"""TLS from Envoy to a backend (`tls: { ca, sni, certificate }` on a cluster), through the real Envoy: the backend's
certificate must chain to the folder's ca.crt, Envoy sends the configured SNI and presents the client
certificate; a cluster trusting another CA, or asking for a name the backend's certificate does not hold, gets no
answer from the backend."""
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import FIXTURES, Chancery, Envoy, free_port, wait_until
from test_site_features import request

SITE_CERTS = os.path.join(FIXTURES, "example-site", "certs")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_backend_certificate(work):
    """A test CA and a server certificate for backend.test it signed; returns (ca, crt, key) paths."""
    ca_key, ca_crt = os.path.join(work, "ca.key"), os.path.join(work, "ca.crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
            "-out", ca_crt, "-days", "2", "-subj", "/CN=Chancery test upstream CA")
    key, csr, crt = (os.path.join(work, name) for name in ("backend.key", "backend.csr", "backend.crt"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=backend.test")
    extensions = os.path.join(work, "san.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName=DNS:backend.test\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
            "-extfile", extensions)
    client = os.path.join(work, "envoy-client")
    os.makedirs(client)
    client_csr = os.path.join(work, "client.csr")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            os.path.join(client, "tls.key"), "-out", client_csr, "-subj", "/CN=envoy")
    openssl("x509", "-req", "-in", client_csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out",
            os.path.join(client, "tls.crt"), "-days", "2")
    return ca_crt, crt, key, client


class TLSBackend:
    """An HTTPS server that answers with the SNI it was asked for and whether the client sent a certificate."""

    def __init__(self, crt, key, client_ca):
        self.port = free_port()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(crt, key)
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
        names = {}

        def remember(sock, name, _):
            names[id(sock)] = name

        context.sni_callback = remember

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = json.dumps({"sni": names.get(id(self.connection)),
                                   "client_certificate": bool(self.connection.getpeercert())}).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def upstream_site():
    work = tempfile.mkdtemp(prefix="chancery-upstream-tls-")
    ca, crt, key, client = make_backend_certificate(work)
    certs = os.path.join(work, "certs")
    shutil.copytree(os.path.join(SITE_CERTS, "example.test"), os.path.join(certs, "example.test"))
    os.makedirs(os.path.join(certs, "backend-ca"))
    shutil.copy(ca, os.path.join(certs, "backend-ca", "ca.crt"))
    shutil.copytree(client, os.path.join(certs, "envoy-client"))
    # The backend asks for a client certificate signed by the same test CA.
    backend = TLSBackend(crt, key, ca)
    https = free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(f"""
listeners:
  - name: https
    address: 127.0.0.1
    port: {https}
    tls: {{ certificate: example.test }}
    hosts:
      - domains: ["*"]
        routes:
          - {{ prefix: /wrong-ca, cluster: wrong-ca }}
          - {{ prefix: /wrong-name, cluster: wrong-name }}
          - {{ prefix: /, cluster: nas }}
clusters:
  - name: nas
    endpoints: [127.0.0.1:{backend.port}]
    tls: {{ ca: backend-ca, sni: backend.test, certificate: envoy-client }}
  - name: wrong-ca
    endpoints: [127.0.0.1:{backend.port}]
    tls: {{ ca: example.test, sni: backend.test }}
  - name: wrong-name
    endpoints: [127.0.0.1:{backend.port}]
    tls: {{ ca: backend-ca, sni: other.test, certificate: envoy-client }}
""")
    shutil.copy(os.path.join(SITE_CERTS, "example.test", "tls.crt"), os.path.join(certs, "example.test", "ca.crt"))
    chancery = Chancery(routes, certs)
    envoy = None
    try:
        envoy = Envoy(chancery, node="e2e-upstream-tls")
        wait_until(lambda: request(https, "/")[0] == 200, timeout=30, what="https to the TLS backend")
        yield https
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()


def test_envoy_speaks_tls_to_the_backend_with_sni_and_client_certificate(upstream_site):
    status, _, body = request(upstream_site, "/")
    assert status == 200
    assert json.loads(body) == {"sni": "backend.test", "client_certificate": True}


def test_a_backend_certificate_from_another_ca_is_refused(upstream_site):
    status, _, _ = request(upstream_site, "/wrong-ca")
    assert status == 503


def test_a_backend_certificate_for_another_name_is_refused(upstream_site):
    # Signed by the trusted CA, but for backend.test while Envoy asked for other.test.
    status, _, _ = request(upstream_site, "/wrong-name")
    assert status == 503
