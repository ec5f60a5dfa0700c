"""Two Envoys with different jobs from one routes file: an edge proxy forwards TCP to an ingress proxy with a PROXY
protocol v2 header, and the ingress proxy routes HTTP knowing the real client address (the client connects from
127.0.0.7, the edge proxy from 127.0.0.1; the backend must see 127.0.0.7)."""
import http.client
import json
import os
import socket
import tempfile
import textwrap

from harness import FIXTURES, Backend, Chancery, Envoy, free_port, wait_until


def get_from(source_ip, port, host):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source_ip, 0))
    connection.request("GET", "/who", headers={"Host": host})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body


def test_edge_forwards_with_proxy_protocol_and_ingress_sees_the_client():
    backend_port, edge_port, ingress_port = free_port(), free_port(), free_port()
    work = tempfile.mkdtemp(prefix="chancery-pp-")
    os.makedirs(os.path.join(work, "certs"))
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            groups: [edge, ingress]
            listeners:
              - name: passthrough
                groups: [edge]
                address: 127.0.0.1
                port: {edge_port}
                tcp: {{ cluster: ingress }}
              - name: ingress
                groups: [ingress]
                address: 127.0.0.1
                port: {ingress_port}
                accept_proxy_protocol: true
                hosts:
                  - domains: ["*"]
                    routes:
                      - prefix: /
                        cluster: app
            clusters:
              - name: ingress
                endpoints: [127.0.0.1:{ingress_port}]
                proxy_protocol: v2
              - name: app
                endpoints: [127.0.0.1:{backend_port}]
        """))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, os.path.join(work, "certs"))
    edge = ingress = None
    try:
        edge = Envoy(chancery, node="edge-1", group="edge")
        ingress = Envoy(chancery, node="ingress-1", group="ingress")
        status, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(
            get_from("127.0.0.7", edge_port, "app.example.test")), timeout=30, what="a request through both proxies")
        answer = json.loads(body)
        assert answer["backend"] == "app"
        assert answer["xff"] == "127.0.0.7", answer  # the client's address survived the L4 hop

        # Each proxy got only its own group's part of the file.
        assert set(edge.stats()) and "listener.127.0.0.1_%d.downstream_cx_total" % edge_port in edge.stats()
        assert "listener.127.0.0.1_%d.downstream_cx_total" % edge_port not in ingress.stats()
        # Without the PROXY header the ingress listener refuses the connection.
        with socket.create_connection(("127.0.0.1", ingress_port), timeout=5) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = raw.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b"", answer  # closed or reset, never an HTTP response
    finally:
        for envoy in (ingress, edge):
            if envoy:
                envoy.stop()
        chancery.stop()
        backend.stop()
