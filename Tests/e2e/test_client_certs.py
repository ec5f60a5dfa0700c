"""Client certificates (mutual TLS) through the real Envoy: `ca.crt` in the site's certificate folder becomes the
validation context of a listener with `client_certificates: required`."""
import os
import shutil
import subprocess
import tempfile

import pytest

from harness import FIXTURES, Backend, Chancery, Envoy, get_json, wait_until
from test_example_site import BACKENDS, HTTPS_PORT

SITE = os.path.join(FIXTURES, "example-site")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_client_ca(work):
    """A small CA and one client certificate it signed; returns (ca.crt, client.crt, client.key) paths."""
    ca_key, ca_crt = os.path.join(work, "ca.key"), os.path.join(work, "ca.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
            "-out", ca_crt, "-days", "2", "-subj", "/CN=Chancery test client CA")
    key, csr, crt = (os.path.join(work, name) for name in ("client.key", "client.csr", "client.crt"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=alice")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2")
    return ca_crt, crt, key


def curl(*extra):
    """GET https://www.example.test/ through Envoy; returns (exit code, HTTP status text)."""
    result = subprocess.run(
        ["curl", "-sS", "-k", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
         "--resolve", f"www.example.test:{HTTPS_PORT}:127.0.0.1", f"https://www.example.test:{HTTPS_PORT}/",
         *extra], capture_output=True, text=True, timeout=20)
    return result.returncode, result.stdout


@pytest.fixture
def mtls_site():
    work = tempfile.mkdtemp(prefix="chancery-mtls-")
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = envoy = None
    try:
        ca_crt, client_crt, client_key = make_client_ca(work)
        certs = os.path.join(work, "certs")
        shutil.copytree(os.path.join(SITE, "certs", "example.test"), os.path.join(certs, "example.test"))
        shutil.copy(ca_crt, os.path.join(certs, "example.test", "ca.crt"))
        with open(os.path.join(SITE, "routes.yaml")) as f:
            routes_text = f.read()
        marker = "      alpn: [h2, http/1.1]"
        assert marker in routes_text
        routes_text = routes_text.replace(marker, marker + "\n      client_certificates: required", 1)
        routes = os.path.join(work, "routes.yaml")
        with open(routes, "w") as f:
            f.write(routes_text)
        chancery = Chancery(routes, certs)
        envoy = Envoy(chancery, node="mtls")
        yield chancery, envoy, client_crt, client_key
    finally:
        if envoy:
            envoy.stop()
        if chancery:
            chancery.stop()
        for backend in backends:
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_required_client_certificate_is_checked_by_envoy(mtls_site):
    chancery, envoy, client_crt, client_key = mtls_site
    # With the client certificate: served once the listener and both secrets have arrived.
    wait_until(lambda: curl("--cert", client_crt, "--key", client_key) == (0, "200"), timeout=30,
               what="https with a client certificate")
    # Without one: the handshake is refused, no HTTP answer at all.
    code, status = curl()
    assert code != 0 and status == "000", (code, status)
    # A certificate the CA did not sign is refused too (the serving pair itself, self-signed).
    served = os.path.join(SITE, "certs", "example.test")
    code, status = curl("--cert", os.path.join(served, "tls.crt"), "--key", os.path.join(served, "tls.key"))
    assert code != 0 and status == "000", (code, status)
    rejected = {k: v for k, v in envoy.stats().items() if k.endswith("update_rejected") and v}
    assert rejected == {}
