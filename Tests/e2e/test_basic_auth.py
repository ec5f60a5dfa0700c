"""Basic authentication through the real Envoy, with the users in the certificate directory: 401 without or with
wrong credentials, 200 with right ones, an exempt route open, a route with other users; a change to htpasswd
reaches Envoy like a renewed certificate, and the hashes never show on the admin endpoint."""
import base64
import hashlib
import http.client
import os
import tempfile
import textwrap
import urllib.request

from harness import Backend, Chancery, Envoy, free_port, wait_until


def htpasswd(path, users):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        for user, password in users.items():
            digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
            f.write(f"{user}:{{SHA}}{digest}\n")
    os.replace(path + ".tmp", path)


def status(port, path, user=None, password=None):
    headers = {"Host": "admin.example.test"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_basic_auth_with_users_from_the_certificate_directory():
    work = tempfile.mkdtemp(prefix="chancery-basic-auth-")
    certs = os.path.join(work, "certs")
    htpasswd(os.path.join(certs, "admins", "htpasswd"), {"alice": "wonderland", "bob": "builder"})
    htpasswd(os.path.join(certs, "ops", "htpasswd"), {"carol": "pager"})
    port, backend_port = free_port(), free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: web
                address: 127.0.0.1
                port: {port}
                hosts:
                  - domains: [admin.example.test]
                    basic_auth: {{ users: admins }}
                    routes:
                      - {{ path: /health, cluster: app, basic_auth: false }}
                      - {{ prefix: /ops/, cluster: app, basic_auth: {{ users: ops }} }}
                      - {{ prefix: /, cluster: app }}
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, certs)
    envoy = None
    try:
        envoy = Envoy(chancery, node="basic-auth-1")
        wait_until(lambda: status(port, "/health") == 200, timeout=30, what="the listener")
        assert status(port, "/") == 401
        assert status(port, "/", "alice", "wrong") == 401
        assert status(port, "/", "mallory", "wonderland") == 401
        assert status(port, "/", "alice", "wonderland") == 200
        assert status(port, "/dashboard", "bob", "builder") == 200
        # The /ops/ route has its own users, in place of the host's.
        assert status(port, "/ops/x", "alice", "wonderland") == 401
        assert status(port, "/ops/x", "carol", "pager") == 200
        # A password change in htpasswd reaches Envoy without a restart.
        htpasswd(os.path.join(certs, "admins", "htpasswd"), {"alice": "looking-glass"})
        wait_until(lambda: status(port, "/", "alice", "looking-glass") == 200, timeout=30, what="the new password")
        assert status(port, "/", "alice", "wonderland") == 401
        assert status(port, "/", "bob", "builder") == 401
        # The hashes never leave Chancery in readable form.
        with urllib.request.urlopen(chancery.admin("/snapshot"), timeout=5) as response:
            snapshot = response.read().decode()
        assert "{SHA}" not in snapshot and "[redacted]" in snapshot
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()


def test_a_broken_htpasswd_leaves_its_host_out_and_says_why():
    work = tempfile.mkdtemp(prefix="chancery-basic-auth-bad-")
    certs = os.path.join(work, "certs")
    os.makedirs(os.path.join(certs, "admins"))
    with open(os.path.join(certs, "admins", "htpasswd"), "w") as f:
        f.write("alice:$apr1$abc$0123456789abcdefghij.\n")
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent("""
            listeners:
              - name: web
                port: 8080
                hosts:
                  - domains: [admin.example.test]
                    basic_auth: { users: admins }
                    routes: [{ prefix: /, cluster: app }]
            clusters:
              - { name: app, endpoints: [127.0.0.1:9000] }
        """))
    from harness import chancery_bin
    import subprocess
    result = subprocess.run([chancery_bin(), "validate", routes, "--certs", certs], capture_output=True, text=True)
    assert result.returncode == 1
    assert "host \"admin.example.test\" of listener \"web\" left out" in result.stderr, result.stderr
    assert "is not a {SHA} hash, the only kind Envoy checks; write it with htpasswd -s" in result.stderr
    assert "$apr1$" not in result.stderr  # the hash itself is never repeated
