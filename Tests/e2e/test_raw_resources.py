"""Raw Envoy resources (`--raw DIR`) with the real Envoy: served beside the routes file, using its certificates and
clusters, losing a name clash to it, reloaded live, refused with file:line:col when broken, and adapted to proxies
that use one stream per type (issue 11)."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.request

import pytest

from harness import FIXTURES, Backend, Chancery, Envoy, chancery_bin, free_port, get_json, wait_until

SITE = os.path.join(FIXTURES, "example-site")

ROUTES = """
listeners:
  - name: web
    address: 127.0.0.1
    port: {web_port}
    hosts:
      - domains: ["*"]
        routes:
          - prefix: /
            cluster: www
clusters:
  - name: www
    endpoints: [127.0.0.1:{www_port}]
  - name: spare
    endpoints: [127.0.0.1:{spare_port}]
"""

RAW = """# Hand-written Envoy resources.
resources:
  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
    name: raw-plain
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {plain_port} }} }}
    filter_chains:
      - filters:
          - name: envoy.filters.network.http_connection_manager
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
              stat_prefix: raw_plain
              route_config:
                name: raw-plain
                virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                      - match: {{ path: /ping }}
                        direct_response: {{ status: 200, body: {{ inline_string: "pong v1" }} }}
                      - match: {{ prefix: / }}
                        route: {{ cluster: spare }}
              http_filters:
                - name: envoy.filters.http.router
                  typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
    name: raw-tls
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {tls_port} }} }}
    filter_chains:
      - transport_socket:
          name: envoy.transport_sockets.tls
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
            common_tls_context:
              tls_certificate_sds_secret_configs:
                - name: example.test
                  sds_config: {{ ads: {{}}, resource_api_version: V3 }}
        filters:
          - name: envoy.filters.network.http_connection_manager
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
              stat_prefix: raw_tls
              route_config:
                name: raw-tls
                virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                      - match: {{ prefix: / }}
                        direct_response: {{ status: 200, body: {{ inline_string: "secure" }} }}
              http_filters:
                - name: envoy.filters.http.router
                  typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  # Loses to the routes file's cluster of the same name, with a warning.
  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
    name: www
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: www
      endpoints: [{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 9 }} }} }} }}] }}]
"""


def get(port, path="/"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


def tls_get(port):
    """The body and the DER certificate Envoy presents on the raw TLS listener."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="www.example.test") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
            return data.split(b"\r\n\r\n", 1)[1].decode(), tls.getpeercert(binary_form=True)


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)  # how editors save


@pytest.fixture
def site():
    work = tempfile.mkdtemp(prefix="chancery-raw-")
    ports = {name: free_port() for name in ("web_port", "www_port", "spare_port", "plain_port", "tls_port")}
    with open(os.path.join(work, "routes.yaml"), "w") as f:
        f.write(ROUTES.format(**ports))
    shutil.copytree(os.path.join(SITE, "certs"), os.path.join(work, "certs"))
    os.mkdir(os.path.join(work, "raw"))
    write(os.path.join(work, "raw", "site.yaml"), RAW.format(**ports))
    backends = [Backend("www", ports["www_port"]), Backend("spare", ports["spare_port"])]
    chancery = Chancery(os.path.join(work, "routes.yaml"), os.path.join(work, "certs"),
                        extra=["--raw", os.path.join(work, "raw")])
    processes = [chancery]
    try:
        yield work, ports, chancery, processes
    finally:
        for process in reversed(processes):
            process.stop()
        for backend in backends:
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)


def certificate_der():
    with open(os.path.join(SITE, "certs", "example.test", "tls.crt")) as f:
        pem = f.read()
    return ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])


@pytest.mark.parametrize("ads", ["sotw", "none"])
def test_raw_listeners_serve_beside_the_routes_file(site, ads):
    work, ports, chancery, processes = site
    envoy = Envoy(chancery, node=f"raw-{ads}", ads=ads)
    processes.append(envoy)
    # A raw listener with a direct response, and a route to a routes-file cluster no declarative route uses.
    assert wait_until(lambda: get(ports["plain_port"], "/ping"), timeout=30, what="raw listener") == "pong v1"
    assert json.loads(get(ports["plain_port"], "/anything"))["backend"] == "spare"
    # A raw TLS listener presenting the certificate directory's certificate through SDS; with one stream per type,
    # its `ads: {}` config source was rewritten to the proxy's own.
    body, der = wait_until(lambda: tls_get(ports["tls_port"]), timeout=30, what=f"raw TLS listener ({ads})")
    assert body == "secure"
    assert der == certificate_der()
    # The routes file's `www` wins over the raw one (which points at a dead port), and /status says so.
    assert json.loads(get(ports["web_port"]))["backend"] == "www"
    warnings = get_json(chancery.admin("/status"))["warnings"]
    clash = [w for w in warnings if "cluster \"www\" is also defined by the routes file" in w]
    assert clash and clash[0].startswith(os.path.join(work, "raw", "site.yaml") + ":54:5:"), warnings
    stats = envoy.stats()
    assert {k: v for k, v in stats.items() if k.endswith("update_rejected") and v} == {}


def test_raw_edits_apply_live_and_broken_ones_are_refused_with_their_position(site):
    work, ports, chancery, processes = site
    envoy = Envoy(chancery, node="raw-live")
    processes.append(envoy)
    raw = os.path.join(work, "raw", "site.yaml")
    assert wait_until(lambda: get(ports["plain_port"], "/ping"), timeout=30, what="raw listener") == "pong v1"

    write(raw, RAW.format(**ports).replace("pong v1", "pong v2"))
    wait_until(lambda: get(ports["plain_port"], "/ping") == "pong v2", timeout=15, what="the edit through Envoy")

    broken = RAW.format(**ports).replace("pong v1", "pong v3").replace("stat_prefix: raw_tls", "stat_prefx: raw_tls")
    write(raw, broken)
    status = wait_until(lambda: (lambda s: s if not s["ok"] else None)(get_json(chancery.admin("/status"))),
                        timeout=15, what="the refusal on /status")
    expected = (f"{raw}:41:15: envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager "
                "has no field \"stat_prefx\" in this build (did you mean \"stat_prefix\"?)")
    assert expected in status["errors"], status
    assert get(ports["plain_port"], "/ping") == "pong v2"  # the last good snapshot is still served

    # The same file through `validate`: the same message, exit 1.
    result = subprocess.run([chancery_bin(), "validate", os.path.join(work, "routes.yaml"), "--certs",
                             os.path.join(work, "certs"), "--raw", os.path.join(work, "raw")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.strip() == expected, result.stderr

    write(raw, RAW.format(**ports).replace("pong v1", "pong v4"))
    wait_until(lambda: get(ports["plain_port"], "/ping") == "pong v4", timeout=15, what="the repair through Envoy")
    assert get_json(chancery.admin("/status"))["ok"] is True
