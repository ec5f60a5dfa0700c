"""Local rate limits through the real Envoy: a host's bucket is shared by its routes, a route's own bucket replaces
it, other hosts are not limited, and a request over the limit gets 429."""
import http.client
import os
import tempfile
import textwrap

from harness import Backend, Chancery, Envoy, free_port, wait_until


def status(port, host, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_requests_over_the_limit_get_429():
    work = tempfile.mkdtemp(prefix="chancery-ratelimit-")
    os.makedirs(os.path.join(work, "certs"))
    port, backend_port = free_port(), free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: web
                address: 127.0.0.1
                port: {port}
                hosts:
                  - domains: [login.example.test]
                    rate_limit: {{ requests: 3, per: 1h }}
                    routes:
                      - {{ prefix: /api/, cluster: app, rate_limit: {{ requests: 1000, per: 1h }} }}
                      - {{ prefix: /, cluster: app }}
                  - domains: ["*"]
                    routes: [{{ prefix: /, cluster: app }}]
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="ratelimit-1")
        wait_until(lambda: status(port, "other.example.test", "/") == 200, timeout=30, what="the listener")
        # The host's bucket: 3 requests, shared by /login and /, then 429.
        answers = [status(port, "login.example.test", path) for path in ["/login", "/", "/login", "/login", "/"]]
        assert answers == [200, 200, 200, 429, 429], answers
        # The /api/ route has its own, larger bucket; another host has none.
        assert [status(port, "login.example.test", "/api/x") for _ in range(10)] == [200] * 10
        assert [status(port, "other.example.test", "/") for _ in range(10)] == [200] * 10
        limited = envoy.stats().get("rate_limit.http_local_rate_limit.rate_limited", 0)
        assert limited == 2, {k: v for k, v in envoy.stats().items() if "rate_limit" in k}
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()
