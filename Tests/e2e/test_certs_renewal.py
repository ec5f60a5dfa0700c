"""Certificates from any renewal tool, seen through the real Envoy: certbot's live/ → archive/ links re-pointed one at
a time, a certificate folder replaced by rename, an expired certificate at start, and SIGHUP."""
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from harness import FIXTURES, Backend, Chancery, Envoy, get_json, wait_until
from test_example_site import BACKENDS, HTTP_PORT, SSH_PORT, http_get, https_get
from test_reload import fingerprint, new_certificate

SITE = os.path.join(FIXTURES, "example-site")
BAD = os.path.join(FIXTURES, "bad", "certs")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def relink(link, target):
    """Re-points a symlink the way certbot does: a new link under a temporary name renamed over the old one."""
    tmp = link + ".new"
    os.symlink(target, tmp)
    os.rename(tmp, link)


def presented():
    return hashlib.sha256(https_get("www.example.test")[2]).hexdigest()


def certificate_entry(chancery, name):
    for entry in get_json(chancery.admin("/status"))["certificates"]:
        if entry["name"] == name:
            return entry
    return None


@contextlib.contextmanager
def site(certs, extra=(), node="certs", wait_https=True):
    """The example site's backends, Chancery on a copy of its routes and `certs`, and one Envoy."""
    work = tempfile.mkdtemp(prefix="chancery-certs-")
    routes = os.path.join(work, "routes.yaml")
    shutil.copy(os.path.join(SITE, "routes.yaml"), routes)
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = envoy = None
    try:
        chancery = Chancery(routes, certs, extra=extra)
        envoy = Envoy(chancery, node=node)
        if wait_https:
            wait_until(lambda: https_get("www.example.test")[0] == 200, timeout=30, what="https through envoy")
        yield chancery, envoy
    finally:
        if envoy:
            envoy.stop()
        if chancery:
            chancery.stop()
        for backend in backends:
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_certbot_renewal_reaches_envoy_and_a_half_renewed_pair_is_never_pushed():
    work = tempfile.mkdtemp(prefix="chancery-certbot-")
    try:
        live = os.path.join(work, "letsencrypt", "live", "example.test")
        archive = os.path.join(work, "letsencrypt", "archive", "example.test")
        os.makedirs(live)
        os.makedirs(archive)
        shutil.copy(os.path.join(SITE, "certs", "example.test", "tls.crt"), os.path.join(archive, "fullchain1.pem"))
        shutil.copy(os.path.join(SITE, "certs", "example.test", "tls.key"), os.path.join(archive, "privkey1.pem"))
        for name in ("fullchain", "privkey"):
            os.symlink(f"../../archive/example.test/{name}1.pem", os.path.join(live, f"{name}.pem"))
        certs = os.path.join(work, "certs")
        os.makedirs(os.path.join(certs, "example.test"))
        for name in ("fullchain", "privkey"):  # certbot's own names, linked to live/ outside the cert directory
            os.symlink(os.path.join(live, f"{name}.pem"), os.path.join(certs, "example.test", f"{name}.pem"))

        with site(certs, extra=("--rescan-interval", "0"), node="certbot") as (chancery, envoy):
            old = fingerprint(read(os.path.join(archive, "fullchain1.pem")))
            assert presented() == old
            cert, key = new_certificate(work)
            write(os.path.join(archive, "fullchain2.pem"), cert)
            write(os.path.join(archive, "privkey2.pem"), key)

            relink(os.path.join(live, "fullchain.pem"), "../../archive/example.test/fullchain2.pem")
            entry = wait_until(lambda: (lambda e: e if e and e["state"] == "last_good" else None)(
                certificate_entry(chancery, "example.test")), timeout=10, what="the half-renewed pair noticed")
            assert "does not match" in entry["problem"], entry
            assert presented() == old  # the last good pair is still served

            relink(os.path.join(live, "privkey.pem"), "../../archive/example.test/privkey2.pem")
            wait_until(lambda: presented() == fingerprint(cert), timeout=10, what="envoy presenting the renewal")
            entry = certificate_entry(chancery, "example.test")
            assert entry["state"] == "ok" and entry["source_path"].endswith("archive/example.test/fullchain2.pem")
            rejected = {k: v for k, v in envoy.stats().items() if k.endswith("update_rejected") and v}
            assert rejected == {}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_certificate_folder_renamed_in_is_followed_and_watched_afterwards():
    work = tempfile.mkdtemp(prefix="chancery-rename-")
    try:
        certs = os.path.join(work, "certs")
        shutil.copytree(os.path.join(SITE, "certs", "example.test"), os.path.join(certs, "example.test"))
        with site(certs, extra=("--rescan-interval", "0"), node="rename"):
            cert, key = new_certificate(work)
            prepared = os.path.join(certs, ".prepared")
            os.makedirs(prepared)
            write(os.path.join(prepared, "tls.crt"), cert)
            write(os.path.join(prepared, "tls.key"), key)
            os.rename(os.path.join(certs, "example.test"), os.path.join(work, "old"))
            os.rename(prepared, os.path.join(certs, "example.test"))
            wait_until(lambda: presented() == fingerprint(cert), timeout=10, what="the folder renamed in")

            # A later renewal inside the new folder is seen too (the watch moved to the new directory).
            third_dir = os.path.join(work, "third")
            os.makedirs(third_dir)
            cert3, key3 = new_certificate(third_dir)
            write(os.path.join(certs, "example.test", "tls.key"), key3)
            write(os.path.join(certs, "example.test", "tls.crt"), cert3)
            wait_until(lambda: presented() == fingerprint(cert3), timeout=10, what="a renewal in the renamed folder")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_expired_certificate_at_start_keeps_the_whole_site_up():
    work = tempfile.mkdtemp(prefix="chancery-expired-")
    try:
        certs = os.path.join(work, "certs")
        shutil.copytree(os.path.join(BAD, "expired"), os.path.join(certs, "example.test"))
        git = socket.socket()
        git.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        git.bind(("127.0.0.1", 18022))
        git.listen(4)
        try:
            with site(certs, node="expired", wait_https=False) as (chancery, envoy):
                status, headers = wait_until(lambda: (lambda r: r if r[0] == 301 else None)(
                    http_get("www.example.test", "/x")), timeout=30, what="the redirect listener")
                assert headers["location"].startswith("https://www.example.test:10443/x")
                with socket.create_connection(("127.0.0.1", SSH_PORT), timeout=10) as client:
                    git.settimeout(10)
                    server, _ = git.accept()  # the TCP listener forwarded the connection
                    server.close()
                assert chancery.alive()
                state = get_json(chancery.admin("/status"))
                assert state["ok"] is True
                assert any("EXPIRED" in w and "example.test" in w for w in state["warnings"]), state
                entry = [c for c in state["certificates"] if c["name"] == "example.test"][0]
                assert entry["state"] == "expired" and entry["days_left"] < 0, entry
                assert 'chancery_certificate_expired{name="example.test"} 1' in \
                    http_get_text(chancery.admin("/metrics"))
                assert "EXPIRED" in chancery.output()
        finally:
            git.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def http_get_text(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_sighup_reloads_and_never_stops_the_process():
    chancery = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"))
    try:
        chancery.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP: reloading" in chancery.output(), timeout=10, what="the reload logged")
        # The load ran to its end: nothing changed, and it says so.
        wait_until(lambda: "trigger=SIGHUP" in chancery.output(), timeout=10, what="the reload's outcome")
        chancery.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: chancery.output().count("SIGHUP: reloading") >= 2, timeout=10, what="the second reload")
        assert chancery.alive()
        assert get_json(chancery.admin("/status"))["ok"] is True
    finally:
        assert chancery.stop() == 0


def test_validate_warns_about_a_certificate_close_to_expiry():
    work = tempfile.mkdtemp(prefix="chancery-soon-")
    try:
        target = os.path.join(work, "certs", "example.test")
        os.makedirs(target)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", os.path.join(target, "tls.key"), "-out", os.path.join(target, "tls.crt"),
                        "-days", "5", "-subj", "/CN=example.test",
                        "-addext", "subjectAltName=DNS:example.test,DNS:*.example.test"],
                       check=True, capture_output=True)
        from harness import chancery_bin
        result = subprocess.run([chancery_bin(), "validate", os.path.join(SITE, "routes.yaml"),
                                 "--certs", os.path.join(work, "certs")], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert 'certificate "example.test" expires on' in result.stderr and "days left" in result.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)
