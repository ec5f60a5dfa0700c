"""Live changes observed through Envoy itself: a routes edit, a broken edit, and a certificate renewal (SDS)."""
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile

import pytest

from harness import FIXTURES, get_json, wait_until
from test_example_site import HTTPS_PORT, https_get, serving

SITE = os.path.join(FIXTURES, "example-site")


def make_kubernetes_secret(certs_dir, name, cert_pem, key_pem, stamp):
    """Writes NAME/..STAMP/{tls.crt,tls.key}, points ..data at it atomically, with tls.* links through ..data."""
    base = os.path.join(certs_dir, name)
    os.makedirs(base, exist_ok=True)
    data = os.path.join(base, f"..{stamp}")
    os.makedirs(data)
    with open(os.path.join(data, "tls.crt"), "wb") as f:
        f.write(cert_pem)
    with open(os.path.join(data, "tls.key"), "wb") as f:
        f.write(key_pem)
    tmp_link = os.path.join(base, "..data_tmp")
    os.symlink(f"..{stamp}", tmp_link)
    os.rename(tmp_link, os.path.join(base, "..data"))  # the atomic swap cert-manager's kubelet does
    for item in ("tls.crt", "tls.key"):
        link = os.path.join(base, item)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", item), link)


def new_certificate(workdir):
    key = os.path.join(workdir, "new.key")
    cert = os.path.join(workdir, "new.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=example.test",
                    "-addext", "subjectAltName=DNS:example.test,DNS:*.example.test"],
                   check=True, capture_output=True)
    with open(cert, "rb") as c, open(key, "rb") as k:
        return c.read(), k.read()


def fingerprint(pem):
    text = pem.decode()
    first = text[: text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


@pytest.fixture(params=["sotw", "delta"])
def live_site(request):
    work = tempfile.mkdtemp(prefix="chancery-reload-")
    shutil.copy(os.path.join(SITE, "routes.yaml"), os.path.join(work, "routes.yaml"))
    certs = os.path.join(work, "certs")
    os.makedirs(certs)
    with open(os.path.join(SITE, "certs", "example.test", "tls.crt"), "rb") as c, \
            open(os.path.join(SITE, "certs", "example.test", "tls.key"), "rb") as k:
        make_kubernetes_secret(certs, "example.test", c.read(), k.read(), "2026_01_01")
    try:
        with serving(os.path.join(work, "routes.yaml"), certs, node=f"reload-{request.param}",
                     ads=request.param) as (chancery, envoy):
            yield work, certs, chancery, envoy
    finally:
        shutil.rmtree(work, ignore_errors=True)


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text.replace(old, new))
    os.rename(tmp, path)  # how editors save


def test_routes_edit_reaches_envoy(live_site):
    work, _, chancery, _ = live_site
    edit(os.path.join(work, "routes.yaml"), "domains: [dl.example.test]", "domains: [dl.example.test, files.example.test]")
    status, body, _ = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(https_get("files.example.test")),
                                 timeout=10, what="the new domain served by envoy")
    assert json.loads(body)["backend"] == "dl"
    assert get_json(chancery.admin("/status"))["ok"] is True


def converged(chancery, node):
    """Every type of every stream of `node` has ACKed what it was last sent, and none holds a NACK."""
    clients = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == node]
    states = [state for c in clients for state in c["types"].values()]
    return bool(states) and all(s.get("acked_version") == s.get("sent_version") and "last_nack" not in s
                                for s in states)


def test_cluster_and_endpoint_changes_reach_envoy(live_site):
    """One save changes a cluster (Envoy re-warms it: its endpoints must be sent again) and another cluster's
    endpoints; a second save changes them back. In delta, from the second publish on, streams are served the changes
    every stream shares, warming endpoints included (`TypeShare`)."""
    work, _, chancery, envoy = live_site
    node = envoy.node
    routes = os.path.join(work, "routes.yaml")
    for before, after, backend in [("18082]\n    connect_timeout: 2s", "18083]\n    connect_timeout: 3s", "dl"),
                                   ("18083]\n    connect_timeout: 3s", "18082]\n    connect_timeout: 2s", "dav")]:
        version = get_json(chancery.admin("/snapshot"))["version"]
        edit(routes, before, after)
        wait_until(lambda: get_json(chancery.admin("/snapshot"))["version"] != version, timeout=10,
                   what="the edit published")
        status, body, _ = wait_until(
            lambda: (lambda r: r if r[0] == 200 and json.loads(r[1])["backend"] == backend else None)(
                https_get("dav.example.test")), timeout=10, what=f"dav served by the {backend} backend")
        wait_until(lambda: converged(chancery, node), timeout=10, what="every type ACKed")
        # The changed cluster finished warming: its endpoints arrived again.
        wait_until(lambda: envoy.stats().get("cluster_manager.warming_clusters") == 0, timeout=10,
                   what="no cluster left warming")
        assert https_get("www.example.test")[0] == 200
    stats = envoy.stats()
    assert {k: v for k, v in stats.items() if k.endswith("update_rejected") and v} == {}
    assert stats["cluster_manager.cds.update_success"] >= 3


def test_broken_edit_is_refused_and_envoy_keeps_serving(live_site):
    work, _, chancery, envoy = live_site
    before = get_json(chancery.admin("/snapshot"))["version"]
    edit(os.path.join(work, "routes.yaml"), "cluster: www", "cluster: wwww")
    status = wait_until(lambda: (lambda s: s if not s["ok"] else None)(get_json(chancery.admin("/status"))),
                        timeout=10, what="the refusal on /status")
    assert any("wwww" in e and "routes.yaml:" in e for e in status["errors"]), status
    assert get_json(chancery.admin("/snapshot"))["version"] == before
    assert https_get("www.example.test")[0] == 200
    rejected = {k: v for k, v in envoy.stats().items() if k.endswith("update_rejected") and v}
    assert rejected == {}


def test_certificate_renewal_reaches_envoy_without_dropping_connections(live_site):
    work, certs, chancery, envoy = live_site
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # A keep-alive connection opened before the renewal must keep working after it.
    conn = context.wrap_socket(socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=10),
                               server_hostname="www.example.test")
    old_fp = hashlib.sha256(conn.getpeercert(binary_form=True)).hexdigest()

    def request(sock):
        sock.sendall(b"GET /before HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
        while len(rest) < length:
            rest += sock.recv(4096)
        return head.split(b" ")[1]

    assert request(conn) == b"200"
    cert, key = new_certificate(work)
    make_kubernetes_secret(certs, "example.test", cert, key, "2026_02_01")
    wait_until(lambda: hashlib.sha256(https_get("www.example.test")[2]).hexdigest() == fingerprint(cert),
               timeout=10, what="envoy presenting the renewed certificate")
    assert fingerprint(cert) != old_fp
    assert request(conn) == b"200"  # the old connection survived the renewal
    conn.close()
    assert envoy.stats().get("sds.example.test.update_success", 0) >= 2


def test_routes_file_behind_a_symlink_is_followed():
    """A routes file mounted as a link into another directory (a Kubernetes ConfigMap): edits of the target count."""
    work = tempfile.mkdtemp(prefix="chancery-link-")
    target_dir = os.path.join(work, "configmap")
    os.makedirs(target_dir)
    shutil.copy(os.path.join(SITE, "routes.yaml"), os.path.join(target_dir, "routes.yaml"))
    link = os.path.join(work, "routes.yaml")
    os.symlink(os.path.join(target_dir, "routes.yaml"), link)
    try:
        with serving(link, os.path.join(SITE, "certs"), node="link"):
            edit(os.path.join(target_dir, "routes.yaml"), "domains: [dl.example.test]",
                 "domains: [dl.example.test, linked.example.test]")
            wait_until(lambda: https_get("linked.example.test")[0] == 200, timeout=10, what="the edit through the link")
    finally:
        shutil.rmtree(work, ignore_errors=True)
