"""The command line as a person uses it: validate, serve refusing bad input, and no private key anywhere."""
import base64
import os
import subprocess

from harness import FIXTURES, Chancery, Process, chancery_bin, free_port, http_get, wait_until

SITE = os.path.join(FIXTURES, "example-site")
ROUTES = os.path.join(SITE, "routes.yaml")
CERTS = os.path.join(SITE, "certs")


def run(*args):
    return subprocess.run([chancery_bin(), *args], capture_output=True, text=True, timeout=60)


def key_fragments():
    """Pieces of the private key as they could leak: a PEM body line, and the start of the PEM in base64."""
    with open(os.path.join(CERTS, "example.test", "tls.key"), "rb") as f:
        pem = f.read()
    lines = [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
    return [lines[0], lines[1], base64.b64encode(pem).decode()[:40]]


def test_validate_accepts_the_example():
    result = run("validate", ROUTES, "--certs", CERTS)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_validate_names_file_line_column_and_hint():
    bad = os.path.join(FIXTURES, "bad", "routes", "typo-cluster.yaml")
    result = run("validate", bad)
    assert result.returncode == 1
    assert f"{bad}:" in result.stderr
    assert 'cluster "wwww"' in result.stderr and 'did you mean "www"' in result.stderr


def test_validate_names_a_missing_certificate_directory():
    result = run("validate", ROUTES, "--certs", "/nonexistent/certs")
    assert result.returncode == 1
    assert "/nonexistent/certs" in result.stderr


def test_serve_refuses_an_invalid_file_at_start():
    bad = os.path.join(FIXTURES, "bad", "routes", "typo-cluster.yaml")
    result = run("serve", "--config", bad, "--certs", CERTS, "--xds", "127.0.0.1:0", "--admin", "127.0.0.1:0")
    assert result.returncode == 1
    assert "wwww" in result.stderr


def test_private_key_never_leaves_the_process():
    fragments = key_fragments()
    rendered = run("render", "--config", ROUTES, "--certs", CERTS)
    assert rendered.returncode == 0
    assert "[redacted]" in rendered.stdout
    chancery = Chancery(ROUTES, CERTS, extra=("--log-level", "trace"))
    try:
        pages = [http_get(chancery.admin(path))[1] for path in ("/snapshot", "/clients", "/status", "/history")]
    finally:
        chancery.stop()
    for text in [rendered.stdout, rendered.stderr, chancery.output(), *pages]:
        for fragment in fragments:
            assert fragment not in text


def test_every_bootstrap_mode_is_valid_for_envoy(tmp_path):
    from harness import envoy_bin
    for mode in ("sotw", "delta", "none", "none-delta"):
        result = run("bootstrap", "--node", "check", "--ads", mode, "--max-connections", "1000")
        assert result.returncode == 0, result.stderr
        path = tmp_path / f"{mode}.json"
        path.write_text(result.stdout)
        checked = subprocess.run([envoy_bin(), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and "OK" in checked.stdout + checked.stderr, (mode, checked.stderr[-2000:])


def test_serve_names_the_address_it_cannot_listen_on():
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = run("serve", "--config", ROUTES, "--certs", CERTS, "--xds", f"127.0.0.1:{port}", "--admin", "127.0.0.1:0")
        assert result.returncode == 1
        assert f"cannot listen for xDS on 127.0.0.1:{port}" in result.stderr
    finally:
        taken.close()


def test_cleartext_xds_beyond_loopback_says_so_in_the_log():
    """Cleartext xDS is meant for loopback: bound to every interface (0.0.0.0, a free port, for a moment) it warns that
    SDS keys would travel unencrypted; on loopback it does not."""
    config = os.path.join(FIXTURES, "example-site", "routes.yaml")
    certs = os.path.join(FIXTURES, "example-site", "certs")
    warning = "xDS is served in cleartext beyond loopback"
    for host, warned in (("0.0.0.0", True), ("127.0.0.1", False)):
        admin_port = free_port()
        process = Process("chancery", [chancery_bin(), "serve", "--config", config, "--certs", certs,
                                       "--xds", f"{host}:{free_port()}", "--admin", f"127.0.0.1:{admin_port}"])
        try:
            wait_until(lambda: process.alive()
                       and http_get(f"http://127.0.0.1:{admin_port}/readyz")[0] == 200
                       and "serving" in process.output(),
                       timeout=30, what=f"chancery ready\n{process.output()}")
            assert (warning in process.output()) == warned, process.output()
        finally:
            process.stop()
