"""xDS over mutual TLS and over a Unix socket, with the real Envoy: identities decide the group, secrets stay in
their group, the server certificate rotates on disk without dropping streams (issue 10)."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from harness import (FIXTURES, Backend, Process, chancery_bin, envoy_bin, free_port, get_json, http_get, wait_serving,
                     wait_until)

SITE = os.path.join(FIXTURES, "example-site")
SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
SERVER_NAME = "xds.chancery.test"
EDGE_ID = "spiffe://chancery.test/edge"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pki:
    """Throwaway CAs and certificates made with the openssl CLI."""

    def __init__(self, work):
        self.work = work

    def path(self, name):
        return os.path.join(self.work, name)

    def ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.crt"), "-days", "2",
                "-subj", f"/CN={name}")
        return self.path(f"{name}.crt")

    def leaf(self, name, ca, san, serial):
        """A certificate for `san` (openssl subjectAltName syntax) signed by `ca`; returns (cert, key)."""
        key, csr, crt, ext = (self.path(f"{name}.{suffix}") for suffix in ("key", "csr", "crt", "ext"))
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", f"/CN={name}")
        openssl("x509", "-req", "-in", csr, "-CA", self.path(f"{ca}.crt"), "-CAkey", self.path(f"{ca}.key"),
                "-set_serial", str(serial), "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key


ROUTES = """
groups:
  - name: edge
    identities: ["{edge_id}"]
  - name: other
    identities: ["other.chancery.test"]
listeners:
  - name: https
    groups: [edge]
    address: 127.0.0.1
    port: {https_port}
    tls:
      certificate: example.test
    hosts:
      - domains: [www.example.test]
        routes:
          - prefix: /
            cluster: www
  - name: ssh
    groups: [other]
    address: 127.0.0.1
    port: {tcp_port}
    tcp:
      cluster: www
clusters:
  - name: www
    endpoints: [127.0.0.1:{backend_port}]
"""


class Setup:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="chancery-xds-mtls-")
        self.pki = Pki(self.work)
        self.pki.ca("xds-ca")
        self.pki.ca("stranger-ca")
        self.server = self.pki.leaf("server", "xds-ca", f"DNS:{SERVER_NAME},IP:127.0.0.1", 1001)
        self.edge = self.pki.leaf("edge", "xds-ca", f"URI:{EDGE_ID}", 2001)
        self.other = self.pki.leaf("other", "xds-ca", "DNS:other.chancery.test", 2002)
        self.stranger = self.pki.leaf("stranger", "stranger-ca", f"URI:{EDGE_ID}", 3001)
        # The serving files live in their own folder, replaced by rename like a cert manager does.
        self.tls_dir = os.path.join(self.work, "xds-tls")
        os.mkdir(self.tls_dir)
        shutil.copy(self.server[0], os.path.join(self.tls_dir, "tls.crt"))
        shutil.copy(self.server[1], os.path.join(self.tls_dir, "tls.key"))
        self.certs = os.path.join(self.work, "certs")
        shutil.copytree(os.path.join(SITE, "certs", "example.test"), os.path.join(self.certs, "example.test"))
        self.https_port, self.tcp_port, self.backend_port = free_port(), free_port(), free_port()
        self.routes = os.path.join(self.work, "routes.yaml")
        with open(self.routes, "w") as f:
            f.write(ROUTES.format(edge_id=EDGE_ID, https_port=self.https_port, tcp_port=self.tcp_port,
                                  backend_port=self.backend_port))
        self.backend = Backend("www", self.backend_port)
        self.processes = []

    def chancery(self, xds, extra=()):
        process = Process("chancery", [chancery_bin(), "serve", "--config", self.routes, "--certs", self.certs,
                                       "--xds", xds, "--admin", "127.0.0.1:0", *extra])
        self.processes.append(process)
        process.admin_port, process.xds_address = wait_serving(process)
        return process

    def mtls_chancery(self):
        process = self.chancery("127.0.0.1:0", [
            "--xds-tls-cert", os.path.join(self.tls_dir, "tls.crt"),
            "--xds-tls-key", os.path.join(self.tls_dir, "tls.key"),
            "--xds-client-ca", self.pki.path("xds-ca.crt")])
        process.xds_port = int(process.xds_address.rsplit(":", 1)[1])
        return process

    def envoy(self, node, group, xds, extra=()):
        admin_port = free_port()
        bootstrap = subprocess.run(
            [chancery_bin(), "bootstrap", "--node", node, "--group", group, "--xds", xds,
             "--envoy-admin", f"127.0.0.1:{admin_port}", *extra],
            check=True, capture_output=True, text=True).stdout
        path = os.path.join(self.work, f"bootstrap-{node}.json")
        with open(path, "w") as f:
            f.write(bootstrap)
        process = Process("envoy", [envoy_bin(), "-c", path, "--disable-hot-restart", "-l", "warning",
                                    "--drain-time-s", "1", "--parent-shutdown-time-s", "2",
                                    "--base-id", str(free_port())])
        process.admin_port = admin_port
        process.bootstrap = json.loads(bootstrap)
        self.processes.append(process)
        wait_until(lambda: process.alive() and http_get(
            f"http://127.0.0.1:{admin_port}/ready")[1].strip() == "LIVE",
            timeout=60, what=f"envoy LIVE\n{process.output()}")
        return process

    def close(self):
        for process in reversed(self.processes):
            process.stop()
        self.backend.stop()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def setup():
    s = Setup()
    try:
        yield s
    finally:
        s.close()


def envoy_stat(envoy, name):
    for line in http_get(f"http://127.0.0.1:{envoy.admin_port}/stats?filter={name}")[1].splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    return None


def curl_https(port):
    result = subprocess.run(
        ["curl", "-sS", "-k", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
         "--resolve", f"www.example.test:{port}:127.0.0.1", f"https://www.example.test:{port}/"],
        capture_output=True, text=True, timeout=20)
    return result.stdout


def tls_context(pki, client):
    context = ssl.create_default_context(cafile=pki.path("xds-ca.crt"))
    context.set_alpn_protocols(["h2"])
    if client:
        context.load_cert_chain(*client)
    return context


def server_serial(pki, port, client):
    """The serial of the certificate a new TLS connection to the xDS port is shown (as an Envoy client sees it)."""
    context = tls_context(pki, client)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
            der = tls.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, check=True).stdout.decode()
    return int(out.strip().split("=")[1], 16)


def refused(pki, port, client, alpn=("h2",)):
    """True when a TLS client with `client` (a (cert, key) or None) gets no HTTP/2 answer: the handshake fails, or
    the server closes the connection right after it (TLS 1.3 reports a rejected client certificate after the
    client's side of the handshake is done)."""
    context = tls_context(pki, client)
    context.set_alpn_protocols(list(alpn))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
                tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
                return tls.recv(64) == b""
    except (ssl.SSLError, ConnectionError, OSError):
        return True


def ads_call(pki, port, client, node_cluster, type_url, names=()):
    """One SotW request over mTLS with grpcio; returns the first response or raises grpc.RpcError."""
    with open(pki.path("xds-ca.crt"), "rb") as ca, open(client[0], "rb") as crt, open(client[1], "rb") as key:
        credentials = grpc.ssl_channel_credentials(ca.read(), key.read(), crt.read())
    options = [("grpc.ssl_target_name_override", SERVER_NAME)]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        request = discovery_pb2.DiscoveryRequest(
            node=base_pb2.Node(id=f"probe-{node_cluster}", cluster=node_cluster), type_url=type_url,
            resource_names=list(names))
        # The request iterator ends after one request, so the server ends the stream (OK) after answering it:
        # no response before that end means nothing was sent.
        return next(stub.StreamAggregatedResources(iter([request]), timeout=5), None)


def names(response):
    out = []
    for resource in response.resources:
        if resource.type_url == SECRET:
            from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
            message = secret_pb2.Secret()
        else:
            from envoy.config.listener.v3 import listener_pb2
            message = listener_pb2.Listener()
        resource.Unpack(message)
        out.append(message.name)
    return sorted(out)


def test_edge_envoy_converges_over_mtls_and_strangers_are_refused(setup):
    chancery = setup.mtls_chancery()
    port = chancery.xds_port
    envoy = setup.envoy("edge-1", "edge", f"127.0.0.1:{port}", [
        "--xds-ca", setup.pki.path("xds-ca.crt"), "--tls-cert", setup.edge[0], "--tls-key", setup.edge[1],
        "--xds-sni", SERVER_NAME])
    # Served over mTLS: the listener arrives and HTTPS answers with the SDS certificate.
    wait_until(lambda: curl_https(setup.https_port) == "200", timeout=60,
               what=f"https through the edge envoy\n{envoy.output()}\n{chancery.output()}")
    clients = get_json(f"http://127.0.0.1:{chancery.admin_port}/clients")
    assert [(c["node_id"], c["group"]) for c in clients] == [("edge-1", "edge")], clients

    # Refused at the handshake: no client certificate, a certificate from an unknown CA, no ALPN h2, cleartext.
    # (The same probe with the edge certificate is answered: the check can tell the difference.)
    assert not refused(setup.pki, port, setup.edge)
    assert refused(setup.pki, port, None)
    assert refused(setup.pki, port, setup.stranger)
    assert refused(setup.pki, port, setup.edge, alpn=("http/1.1",))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
        try:
            answer = raw.recv(64)
        except ConnectionError:
            answer = b""
        # Nothing, or a TLS alert record: never an HTTP/2 SETTINGS frame.
        assert answer == b"" or answer[0] == 0x15, answer

    # A valid certificate for another identity: its own group only, and no secret of the edge group.
    with pytest.raises(grpc.RpcError) as denied:
        ads_call(setup.pki, port, setup.other, "edge", LISTENER)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "edge" in denied.value.details()
    assert names(ads_call(setup.pki, port, setup.other, "other", LISTENER)) == ["ssh"]
    # Naming the edge group's secret from the other group: nothing is sent, and the request is logged.
    assert ads_call(setup.pki, port, setup.other, "other", SECRET, ["example.test"]) is None
    wait_until(lambda: "a proxy asked for a secret its group does not use" in chancery.output(), timeout=10,
               what="the unknown secret request logged")
    # The edge identity asking by name gets exactly its secret.
    assert names(ads_call(setup.pki, port, setup.edge, "edge", SECRET, ["example.test", "nope"])) == \
        ["example.test"]
    log = chancery.output()
    assert "refusing a group the client certificate is not entitled to" in log
    assert "other.chancery.test" in log
    assert "PRIVATE KEY" not in log


def test_rotated_server_certificate_is_used_for_new_connections_only(setup):
    chancery = setup.mtls_chancery()
    port = chancery.xds_port
    envoy = setup.envoy("edge-1", "edge", f"127.0.0.1:{port}", [
        "--xds-ca", setup.pki.path("xds-ca.crt"), "--tls-cert", setup.edge[0], "--tls-key", setup.edge[1],
        "--xds-sni", SERVER_NAME])
    wait_until(lambda: envoy_stat(envoy, "control_plane.connected_state") == 1, timeout=60,
               what="envoy connected")
    connections = envoy_stat(envoy, "cluster.chancery_xds.upstream_cx_total")
    assert server_serial(setup.pki, port, setup.edge) == 1001

    # A broken key first: the old certificate stays in use, and the error names no key material.
    with open(os.path.join(setup.tls_dir, "tls.key"), "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    wait_until(lambda: "cannot be used; keeping the previous certificate" in chancery.output(), timeout=20,
               what="the broken key to be noticed")
    assert server_serial(setup.pki, port, setup.edge) == 1001
    assert "not a key" not in chancery.output()

    # Then a proper rotation, written elsewhere and renamed into place.
    crt, key = setup.pki.leaf("server2", "xds-ca", f"DNS:{SERVER_NAME},IP:127.0.0.1", 1002)
    staging = setup.tls_dir + ".new"
    os.mkdir(staging)
    shutil.copy(crt, os.path.join(staging, "tls.crt"))
    shutil.copy(key, os.path.join(staging, "tls.key"))
    os.replace(os.path.join(staging, "tls.key"), os.path.join(setup.tls_dir, "tls.key"))
    os.replace(os.path.join(staging, "tls.crt"), os.path.join(setup.tls_dir, "tls.crt"))
    wait_until(lambda: server_serial(setup.pki, port, setup.edge) == 1002, timeout=20, what="the new serial on new connections")
    # The Envoy's ADS stream was not dropped: same connection, still connected, still one stream in Chancery.
    assert envoy_stat(envoy, "control_plane.connected_state") == 1
    assert envoy_stat(envoy, "cluster.chancery_xds.upstream_cx_total") == connections
    assert envoy_stat(envoy, "cluster.chancery_xds.upstream_cx_destroy") in (0, None)


def test_envoy_over_the_unix_socket_converges(setup):
    socket_path = os.path.join(setup.work, "run", "xds.sock")
    os.mkdir(os.path.dirname(socket_path))
    chancery = setup.chancery(f"unix:{socket_path}", ["--xds-socket-mode", "0600"])
    assert oct(os.stat(socket_path).st_mode & 0o777) == "0o600"
    envoy = setup.envoy("edge-uds", "edge", f"unix:{socket_path}")
    assert envoy.bootstrap["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0][
        "lb_endpoints"][0]["endpoint"]["address"] == {"pipe": {"path": socket_path}}
    wait_until(lambda: curl_https(setup.https_port) == "200", timeout=60,
               what=f"https through the envoy on the unix socket\n{envoy.output()}\n{chancery.output()}")
    # A second start removes the stale socket a killed server left behind.
    chancery.proc.kill()
    chancery.proc.wait(timeout=10)
    assert os.path.exists(socket_path)
    setup.chancery(f"unix:{socket_path}")
    wait_until(lambda: envoy_stat(envoy, "control_plane.connected_state") == 1, timeout=60,
               what="envoy reconnected over the socket")


def test_bootstrap_with_mtls_is_valid_for_envoy(setup):
    for xds, extra in [
        (f"127.0.0.1:{free_port()}", ["--xds-ca", setup.pki.path("xds-ca.crt"), "--tls-cert", setup.edge[0],
                                      "--tls-key", setup.edge[1]]),
        (f"{SERVER_NAME}:18000", ["--xds-ca", setup.pki.path("xds-ca.crt"), "--tls-cert", setup.edge[0],
                                  "--tls-key", setup.edge[1]]),
        ("unix:/run/chancery/xds.sock", []),
    ]:
        out = subprocess.run([chancery_bin(), "bootstrap", "--node", "n", "--xds", xds, *extra],
                             check=True, capture_output=True, text=True).stdout
        path = os.path.join(setup.work, "bootstrap-check.json")
        with open(path, "w") as f:
            f.write(out)
        result = subprocess.run([envoy_bin(), "--mode", "validate", "-c", path], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, (xds, result.stdout, result.stderr)
        assert "PRIVATE KEY" not in out
        if extra:
            tls = json.loads(out)["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
            assert tls["common_tls_context"]["tls_certificates"][0]["private_key"] == {"filename": setup.edge[1]}
            assert tls["common_tls_context"]["alpn_protocols"] == ["h2"]
    grpc_out = json.loads(subprocess.run(
        [chancery_bin(), "bootstrap", "--node", "n", "--format", "grpc", "--xds", "127.0.0.1:18000",
         "--xds-ca", setup.pki.path("xds-ca.crt"), "--tls-cert", setup.edge[0], "--tls-key", setup.edge[1]],
        check=True, capture_output=True, text=True).stdout)
    creds = grpc_out["xds_servers"][0]["channel_creds"][0]
    assert creds["type"] == "tls" and creds["config"]["private_key_file"] == setup.edge[1]
    # Half a set of TLS flags is refused.
    half = subprocess.run([chancery_bin(), "bootstrap", "--node", "n", "--xds-ca", setup.pki.path("xds-ca.crt")],
                          capture_output=True, text=True)
    assert half.returncode != 0 and "go together" in half.stderr


def test_admin_beyond_loopback_needs_a_token(setup):
    result = subprocess.run(
        [chancery_bin(), "serve", "--config", setup.routes, "--certs", setup.certs,
         "--xds", f"127.0.0.1:{free_port()}", "--admin", f"0.0.0.0:{free_port()}"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--admin-token-file" in result.stderr
    token_file = os.path.join(setup.work, "admin.token")
    with open(token_file, "w") as f:
        f.write("e2e-admin-token-0123456789\n")
    admin_port = free_port()
    process = Process("chancery", [chancery_bin(), "serve", "--config", setup.routes, "--certs", setup.certs,
                                   "--xds", f"127.0.0.1:{free_port()}", "--admin", f"0.0.0.0:{admin_port}",
                                   "--admin-token-file", token_file])
    setup.processes.append(process)
    import urllib.error
    import urllib.request

    def status(token=None):
        request = urllib.request.Request(f"http://127.0.0.1:{admin_port}/snapshot")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("www-authenticate")

    wait_until(lambda: status()[0] == 401, timeout=30, what=f"admin up\n{process.output()}")
    assert status()[1].startswith("Bearer")
    assert status("wrong-token-wrong-token")[0] == 401
    code, body = status("e2e-admin-token-0123456789")
    assert code == 200 and "example.test" in body and "PRIVATE KEY" not in body


GRPC_CLIENT = """
import grpc
channel = grpc.insecure_channel("xds:///greeter")
say = channel.unary_unary("/chancery.test.Echo/Say")
print(say(b"hello", timeout=20).decode())
"""


def test_proxyless_grpc_client_resolves_over_mtls(setup):
    """`bootstrap --format grpc` with TLS flags: grpcio's xDS client reaches Chancery over mTLS with the files named
    in `channel_creds` and takes a group whose identities match its certificate."""
    import sys
    from concurrent import futures

    backend = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    backend.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("chancery.test.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(lambda request, context: b"echo:" + request),
    }),))
    backend_port = backend.add_insecure_port("127.0.0.1:0")
    backend.start()
    try:
        with open(setup.routes, "w") as f:
            f.write(f"""
groups: [{{name: grpc, identities: ["{EDGE_ID}"]}}]
clusters:
  - name: greeter
    endpoints: [127.0.0.1:{backend_port}]
    http2: true
grpc_services:
  - name: greeter
    cluster: greeter
""")
        chancery = setup.mtls_chancery()
        bootstrap = subprocess.run(
            [chancery_bin(), "bootstrap", "--node", "grpc-1", "--group", "grpc", "--format", "grpc",
             "--xds", f"127.0.0.1:{chancery.xds_port}", "--xds-ca", setup.pki.path("xds-ca.crt"),
             "--tls-cert", setup.edge[0], "--tls-key", setup.edge[1]],
            check=True, capture_output=True, text=True).stdout
        assert json.loads(bootstrap)["xds_servers"][0]["channel_creds"][0]["type"] == "tls"
        path = os.path.join(setup.work, "grpc-bootstrap.json")
        with open(path, "w") as f:
            f.write(bootstrap)
        # A separate process: gRPC reads its xDS bootstrap once per process. Chancery serves only mTLS here.
        env = {**os.environ, "GRPC_XDS_BOOTSTRAP": path}
        result = subprocess.run([sys.executable, "-c", GRPC_CLIENT], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr[-3000:] + chancery.output()[-3000:]
        assert result.stdout.strip() == "echo:hello"
        assert "rejected" not in chancery.output().lower()
    finally:
        backend.stop(0)
