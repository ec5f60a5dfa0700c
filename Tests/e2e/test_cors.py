"""Cross-origin requests through the real Envoy: preflights answered for the origins a host allows (exact and
subdomains), nothing granted to others, and a route's own policy in place of its host's."""
import http.client
import os
import tempfile
import textwrap

from harness import Backend, Chancery, Envoy, free_port, wait_until


def request(port, method, path, origin, extra=None):
    headers = {"Host": "api.example.test", "Origin": origin}
    headers.update(extra or {})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}


def preflight(port, path, origin, method="POST"):
    return request(port, "OPTIONS", path, origin, {"Access-Control-Request-Method": method,
                                                    "Access-Control-Request-Headers": "content-type"})


def test_browsers_get_what_the_policy_allows():
    work = tempfile.mkdtemp(prefix="chancery-cors-")
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
                  - domains: [api.example.test]
                    cors:
                      origins: ["https://app.example.test", "https://*.example.org"]
                      methods: [GET, POST]
                      headers: [content-type]
                      expose_headers: [x-request-id]
                      credentials: true
                      max_age: 10m
                    routes:
                      - {{ prefix: /public/, cluster: app, cors: {{ origins: ["*"], methods: [GET] }} }}
                      - {{ prefix: /, cluster: app }}
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="cors-1")
        wait_until(lambda: request(port, "GET", "/", "https://app.example.test")[0] == 200, timeout=30,
                   what="the listener")
        # A preflight from an allowed origin is answered by Envoy with the policy.
        status, headers = preflight(port, "/orders", "https://app.example.test")
        assert status == 200, (status, headers)
        assert headers["access-control-allow-origin"] == "https://app.example.test"
        assert headers["access-control-allow-methods"] == "GET,POST"
        assert headers["access-control-allow-headers"] == "content-type"
        assert headers["access-control-max-age"] == "600"
        assert headers["access-control-allow-credentials"] == "true"
        # A subdomain of the wildcard origin, and the actual request afterwards.
        assert preflight(port, "/orders", "https://shop.example.org")[1]["access-control-allow-origin"] == \
            "https://shop.example.org"
        status, headers = request(port, "GET", "/orders", "https://app.example.test")
        assert status == 200 and headers["access-control-allow-origin"] == "https://app.example.test"
        assert headers["access-control-expose-headers"] == "x-request-id"
        # Origins not listed get nothing that lets a browser read the answer.
        for origin in ("https://evil.test", "http://app.example.test", "https://example.org.evil.test"):
            assert "access-control-allow-origin" not in preflight(port, "/orders", origin)[1], origin
            assert "access-control-allow-origin" not in request(port, "GET", "/orders", origin)[1], origin
        # The route's own policy: any origin, GET only, no credentials.
        status, headers = preflight(port, "/public/x", "https://anyone.test", method="GET")
        assert headers["access-control-allow-origin"] == "https://anyone.test", headers
        assert headers["access-control-allow-methods"] == "GET"
        assert "access-control-allow-credentials" not in headers
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()
