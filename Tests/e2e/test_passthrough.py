"""TLS passthrough and termination on one port, chosen by the server name (SNI), through the real Envoy.

One listener terminates `*.example.test` with the fixture certificate and forwards two names untouched: the client
must then see the backend's own certificate (Envoy never decrypts), and a cluster with `proxy_protocol: v2` must put
the client's real address in front of the TLS bytes."""
import hashlib
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import textwrap
import threading

from harness import FIXTURES, Backend, Chancery, Envoy, free_port, wait_until

PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def self_signed(work, name):
    """A throwaway certificate for `name`; returns (crt, key, sha256 of its DER)."""
    crt, key = os.path.join(work, name + ".crt"), os.path.join(work, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:" + name], check=True, capture_output=True)
    der = ssl.PEM_cert_to_DER_cert(open(crt).read())
    return crt, key, hashlib.sha256(der).hexdigest()


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk
    return data


def read_proxy_v2(sock):
    """Reads a PROXY protocol v2 header (TCP over IPv4) and returns the source address it carries."""
    head = read_exactly(sock, 16)
    assert head[:12] == PROXY_V2_SIGNATURE, head
    length = struct.unpack("!H", head[14:16])[0]
    body = read_exactly(sock, length)
    assert head[13] == 0x11, head  # TCP over IPv4
    return socket.inet_ntoa(body[:4])


class RawTLSBackend:
    """A TLS server that is not HTTP: it answers one line with its name, the SNI it was asked for and, when it
    expects one, the source address of the PROXY header that came before the handshake."""

    def __init__(self, name, crt, key, proxy_protocol=False):
        self.name, self.port, self.proxy_protocol = name, free_port(), proxy_protocol
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(crt, key)
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        conn.settimeout(5)
        try:
            source = read_proxy_v2(conn) if self.proxy_protocol else None
            names = {}
            self.context.sni_callback = lambda sock, name, _: names.update(sni=name)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                line = tls.recv(100).decode().strip()
                answer = {"backend": self.name, "sni": names.get("sni"), "proxy_source": source, "said": line}
                tls.sendall((json.dumps(answer) + "\n").encode())
        except (OSError, ssl.SSLError, AssertionError, ConnectionError):
            conn.close()

    def stop(self):
        self.running = False
        self.listener.close()


def talk(port, server_name, source="127.0.0.1"):
    """Connects over TLS with `server_name` as SNI, without verifying (the test compares certificates itself);
    returns (sha256 of the certificate presented, the first line answered)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            fingerprint = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
            tls.sendall(b"hello\n")
            return fingerprint, tls.recv(1000).decode()


def https_get(port, server_name):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            fingerprint = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
            tls.sendall(f"GET /who HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return fingerprint, int(head.split()[1]), body


def test_one_port_passes_some_names_through_and_terminates_the_others():
    work = tempfile.mkdtemp(prefix="chancery-passthrough-")
    certs = os.path.join(work, "certs")
    shutil.copytree(os.path.join(FIXTURES, "example-site", "certs", "example.test"), os.path.join(certs, "example.test"))
    site_der = ssl.PEM_cert_to_DER_cert(open(os.path.join(certs, "example.test", "tls.crt")).read())
    site_fingerprint = hashlib.sha256(site_der).hexdigest()
    git_crt, git_key, git_fingerprint = self_signed(work, "git.example.test")
    lab_crt, lab_key, lab_fingerprint = self_signed(work, "nas.lab.example.test")
    git = RawTLSBackend("git", git_crt, git_key)
    lab = RawTLSBackend("lab", lab_crt, lab_key, proxy_protocol=True)
    app_port, edge_port = free_port(), free_port()
    app = Backend("app", app_port)
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: edge
                address: 127.0.0.1
                port: {edge_port}
                tls: {{ certificate: example.test }}
                passthrough:
                  - {{ server_names: [git.example.test], cluster: git }}
                  - {{ server_names: ["*.lab.example.test"], cluster: lab }}
                hosts:
                  - domains: [example.test, "*.example.test"]
                    routes: [{{ prefix: /, cluster: app }}]
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{app_port}] }}
              - {{ name: git, endpoints: [127.0.0.1:{git.port}] }}
              - {{ name: lab, endpoints: [127.0.0.1:{lab.port}], proxy_protocol: v2 }}
        """))
    chancery = Chancery(routes, certs)
    envoy = None
    try:
        envoy = Envoy(chancery, node="passthrough-1")
        fingerprint, answer = wait_until(lambda: talk(edge_port, "git.example.test"), timeout=30,
                                         what="a passthrough connection through Envoy")
        # The client sees the backend's own certificate: Envoy forwarded the TLS bytes untouched.
        assert fingerprint == git_fingerprint != site_fingerprint
        assert json.loads(answer) == {"backend": "git", "sni": "git.example.test", "proxy_source": None,
                                      "said": "hello"}

        # A wildcard passthrough, to a cluster that sends a PROXY v2 header first: the backend learns the client's
        # own address (127.0.0.9), not Envoy's.
        fingerprint, answer = talk(edge_port, "nas.lab.example.test", source="127.0.0.9")
        assert fingerprint == lab_fingerprint
        assert json.loads(answer) == {"backend": "lab", "sni": "nas.lab.example.test", "proxy_source": "127.0.0.9",
                                      "said": "hello"}

        # Every other name is terminated by Envoy with the site's certificate and routed as HTTP.
        for name in ("www.example.test", "example.test", "other.lab.example.test.invalid"):
            fingerprint, status, body = https_get(edge_port, name)
            assert fingerprint == site_fingerprint, name
            if name.endswith(".invalid"):
                assert status == 404, (name, status)  # terminated, but no host serves it
            else:
                assert status == 200 and json.loads(body)["backend"] == "app", (name, status, body)

        stats = envoy.stats()
        assert stats.get("tcp.edge.passthrough.downstream_cx_total", 0) >= 2, {
            k: v for k, v in stats.items() if k.startswith("tcp.")}
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        for backend in (git, lab, app):
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)
