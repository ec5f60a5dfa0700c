"""The example site, end to end: chancery + the real Envoy 1.40 + local backends (issue 2)."""
import contextlib
import hashlib
import http.client
import json
import os
import socket
import ssl

import pytest

from harness import FIXTURES, Backend, Chancery, Envoy, get_json, wait_until

SITE = os.path.join(FIXTURES, "example-site")
HTTP_PORT, HTTPS_PORT, SSH_PORT = 10080, 10443, 10022
BACKENDS = {"www": 18081, "dav": 18082, "dl": 18083}


def fixture_cert_sha256():
    with open(os.path.join(SITE, "certs", "example.test", "tls.crt")) as f:
        pem = f.read()
    first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def https_get(host, path="/", port=HTTPS_PORT):
    """GET over TLS to Envoy with SNI and Host `host`; returns (status, body, peer cert DER)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    connection.connect()
    # http.client sends SNI for the host it connects to; re-wrap to send the site's name instead.
    connection.sock.close()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sock = context.wrap_socket(raw, server_hostname=host)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    der = connection.sock.getpeercert(binary_form=True)
    connection.close()
    return response.status, body, der


def http_get(host, path="/", port=HTTP_PORT):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, dict(response.getheaders())


@contextlib.contextmanager
def serving(routes, certs, node, ads="sotw"):
    """The example site's backends, Chancery on `routes` and `certs`, and one Envoy, until HTTPS answers; all stopped
    on the way out, whatever happened."""
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = Chancery(routes, certs)
    envoy = None
    try:
        envoy = Envoy(chancery, node=node, ads=ads)
        # Listeners are served once their routes and secrets arrived: wait for HTTPS to answer.
        wait_until(lambda: https_get("www.example.test")[0] == 200, timeout=30, what="https through envoy")
        yield chancery, envoy
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        for backend in backends:
            backend.stop()


@pytest.fixture(scope="module")
def site():
    with serving(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"), node="e2e-edge") as running:
        yield running


def test_plain_http_redirects_to_https(site):
    status, headers = http_get("www.example.test", "/docs?page=2")
    assert status == 301
    assert headers["location"] == f"https://www.example.test:{HTTPS_PORT}/docs?page=2"


def test_https_www_reaches_backend_with_directory_certificate(site):
    status, body, der = https_get("www.example.test", "/hello")
    assert status == 200
    answer = json.loads(body)
    assert answer["backend"] == "www"
    assert answer["path"] == "/hello"
    assert hashlib.sha256(der).hexdigest() == fixture_cert_sha256()


def test_dav_host_reaches_second_backend(site):
    status, body, _ = https_get("dav.example.test", "/files/a.txt")
    assert status == 200
    assert json.loads(body)["backend"] == "dav"


def test_route_level_redirect(site):
    status, _, _ = https_get("dl.example.test", "/latest")
    assert status == 302


def test_envoy_config_dump_shows_chancery_versions_and_no_rejections(site):
    chancery, envoy = site
    clients = get_json(chancery.admin("/clients"))
    ours = [c for c in clients if c["node_id"] == "e2e-edge"]
    assert len(ours) == 1, clients
    types = ours[0]["types"]
    for kind in ("listener", "cluster", "route", "endpoint", "secret"):
        assert types[kind]["acked_version"] == types[kind]["sent_version"], (kind, types[kind])
        assert "last_nack" not in types[kind]

    dump = envoy.config_dump()["configs"]
    by_type = {c["@type"].rsplit(".", 1)[-1]: c for c in dump}
    listener_versions = {entry["active_state"]["version_info"]
                         for entry in by_type["ListenersConfigDump"]["dynamic_listeners"] if "active_state" in entry}
    assert listener_versions == {types["listener"]["sent_version"]}
    cluster_versions = {c["version_info"] for c in by_type["ClustersConfigDump"]["dynamic_active_clusters"]}
    assert cluster_versions == {types["cluster"]["sent_version"]}
    route_versions = {r["version_info"] for r in by_type["RoutesConfigDump"]["dynamic_route_configs"]}
    assert route_versions == {types["route"]["sent_version"]}
    for entry in json.dumps(dump).split('"error_state"')[1:]:
        pytest.fail(f"envoy reports a rejected update: {entry[:300]}")

    stats = envoy.stats()
    rejected = {k: v for k, v in stats.items() if k.endswith("update_rejected") and v}
    assert rejected == {}
    assert stats.get("listener_manager.lds.update_success", 0) >= 1


def test_raw_tcp_listener_forwards_bytes(site):
    """The `ssh` listener is plain TCP proxying: bytes go to the git-ssh backend and back unchanged."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 18022))
    server.listen()

    def echo_once():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(4096):
                conn.sendall(chunk)

    import threading
    threading.Thread(target=echo_once, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", SSH_PORT), timeout=5) as client:
            client.sendall(b"SSH-2.0-test\r\n")
            assert client.recv(100) == b"SSH-2.0-test\r\n"
    finally:
        server.close()
