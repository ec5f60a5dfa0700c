"""Issue 11 part A on the wire, through the real Envoy: access-log lines, HSTS, retries, active health checks and a
weighted split. Every port is picked free; backends count what they saw so assertions do not depend on timing."""
import collections
import http.client
import json
import os
import socket
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import FIXTURES, Chancery, Envoy, free_port, get_json, http_get as admin_get, wait_until

CERTS = os.path.join(FIXTURES, "example-site", "certs")


class Counting:
    """A backend named `name`: answers 200 with its name, except that `fail_first` paths answer 503 on their first
    request and `/healthz` answers `health_status`. Counts requests per path."""

    def __init__(self, name, fail_first=False, health_status=200):
        self.name, self.fail_first, self.health_status = name, fail_first, health_status
        self.seen = collections.Counter()
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with backend.lock:
                    backend.seen[self.path] += 1
                    count = backend.seen[self.path]
                if self.path == "/healthz":
                    status = backend.health_status
                else:
                    status = 503 if backend.fail_first and count == 1 else 200
                body = json.dumps({"backend": backend.name, "attempt": count}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def request(port, path, host="www.example.test", tls=True, headers=None):
    """One GET; returns (status, headers dict with lowercased names, body)."""
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sock = context.wrap_socket(raw, server_hostname=host)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, body
    connection.close()
    return result


ROUTES = """
listeners:
  - name: https
    address: 127.0.0.1
    port: {https}
    tls: {{ certificate: example.test }}
    hosts:
      - domains: ["*.example.test", example.test]
        routes:
          - {{ prefix: /retry/, cluster: flaky, retries: {{ on: [5xx], count: 2 }} }}
          - {{ prefix: /once/, cluster: flaky }}
          - {{ prefix: /split, clusters: [{{ name: a, weight: 70 }}, {{ name: b, weight: 30 }}] }}
          - {{ prefix: /pool, cluster: pool }}
          - {{ prefix: /, cluster: web }}
  - name: http
    address: 127.0.0.1
    port: {http}
    hosts:
      - domains: ["*"]
        routes: [{{ prefix: /, cluster: web }}]
clusters:
  - {{ name: web, endpoints: [127.0.0.1:{web}] }}
  - {{ name: flaky, endpoints: [127.0.0.1:{flaky}] }}
  - {{ name: a, endpoints: [127.0.0.1:{a}] }}
  - {{ name: b, endpoints: [127.0.0.1:{b}] }}
  - name: pool
    endpoints: [127.0.0.1:{good}, 127.0.0.1:{bad}]
    health_check: {{ path: /healthz, interval: 1s, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1 }}
"""


@pytest.fixture(scope="module")
def site():
    backends = {
        "web": Counting("web"), "flaky": Counting("flaky", fail_first=True), "a": Counting("a"),
        "b": Counting("b"), "good": Counting("good"), "bad": Counting("bad", health_status=503),
    }
    ports = {"https": free_port(), "http": free_port(), **{k: v.port for k, v in backends.items()}}
    work = tempfile.mkdtemp(prefix="site-features-")
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(ROUTES.format(**ports))
    chancery = Chancery(routes, CERTS)
    envoy = None
    try:
        envoy = Envoy(chancery, node="e2e-features")
        wait_until(lambda: request(ports["https"], "/")[0] == 200, timeout=30, what="https through envoy")
        yield ports, backends, envoy
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        for backend in backends.values():
            backend.stop()


def test_hsts_on_https_only(site):
    ports, _, _ = site
    status, headers, _ = request(ports["https"], "/")
    assert status == 200
    assert headers.get("strict-transport-security") == "max-age=31536000"
    status, headers, _ = request(ports["http"], "/", tls=False)
    assert status == 200
    assert "strict-transport-security" not in headers


def test_access_log_line_has_the_documented_fields(site):
    ports, _, envoy = site
    path = f"/log-{uuid.uuid4().hex}"
    assert request(ports["https"], path, headers={"User-Agent": "chancery-e2e"})[0] == 200

    def line():
        for text in envoy.output().splitlines():
            if path in text and text.startswith("{"):
                return json.loads(text)
        return None

    # Envoy flushes its log buffer on a timer (10 s by default): poll with a bounded deadline.
    entry = wait_until(line, timeout=40, what="the access-log line on envoy's stdout")
    assert entry["method"] == "GET" and entry["path"] == path and entry["status"] == 200
    assert entry["authority"] == "www.example.test" and entry["sni"] == "www.example.test"
    assert entry["user_agent"] == "chancery-e2e" and entry["listener"] == "https"
    assert entry["upstream_cluster"] == "web" and entry["upstream_host"] == f"127.0.0.1:{ports['web']}"
    assert entry["client_address"] == "127.0.0.1" and entry["protocol"] == "HTTP/1.1"
    assert len(entry["request_id"]) >= 32 and isinstance(entry["duration_ms"], (int, float))
    assert entry["bytes_sent"] > 0 and "start_time" in entry


def test_retry_turns_a_failed_attempt_into_200(site):
    ports, backends, _ = site
    path = f"/retry/{uuid.uuid4().hex}"
    status, _, body = request(ports["https"], path)
    assert status == 200 and json.loads(body)["attempt"] == 2
    assert backends["flaky"].seen[path] == 2
    # The same backend behind a route without retries: the failure reaches the client.
    once = f"/once/{uuid.uuid4().hex}"
    assert request(ports["https"], once)[0] == 503 and backends["flaky"].seen[once] == 1


def test_health_check_takes_out_the_unhealthy_endpoint(site):
    ports, backends, envoy = site
    bad = f"127.0.0.1:{ports['bad']}"

    def bad_is_out():
        text = admin_get(envoy.admin("/clusters"))[1]
        return any(line.startswith(f"pool::{bad}::health_flags::") and "failed_active_hc" in line
                   for line in text.splitlines())

    wait_until(bad_is_out, timeout=30, what="the active health check to fail the bad endpoint")
    names = [json.loads(request(ports["https"], f"/pool/{i}")[2])["backend"] for i in range(20)]
    assert names == ["good"] * 20
    assert backends["bad"].seen["/healthz"] >= 1


def test_weighted_split_follows_its_weights(site):
    ports, _, _ = site
    counts = collections.Counter(json.loads(request(ports["https"], f"/split/{i}")[2])["backend"] for i in range(200))
    assert counts["a"] + counts["b"] == 200
    # 70 % of 200 is 140; the band is wide (about five standard deviations) so chance never fails it.
    assert 105 <= counts["a"] <= 175, counts
