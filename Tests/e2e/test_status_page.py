"""`chancery status` and the admin web page against a real Envoy (issue 12, items 1 and 4): the table says SYNCED
and exits 0 for a converged Envoy, NACKED and 1 once Envoy rejects an update, 2 when the admin cannot be reached;
`status diff` reads /history; Debian's headless chromium renders `/` with JavaScript on and off."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.request

import browser
import pytest
from harness import FIXTURES, Chancery, Envoy, Process, chancery_bin, free_port, get_json, wait_until

SITE = os.path.join(FIXTURES, "example-site")
NODE = "envoy-status"


class Site:
    """The example site on free ports, a port some other socket holds (for the NACK), Chancery and one Envoy."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="chancery-status-")
        shutil.copytree(os.path.join(SITE, "certs"), os.path.join(self.work, "certs"))
        with open(os.path.join(SITE, "routes.yaml")) as f:
            self.text = re.sub(r"(?m)^(\s+)port: \d+", lambda m: f"{m.group(1)}port: {free_port()}", f.read())
        self.ssh_port = int(re.search(r"name: ssh\n\s+address: \S+\n\s+port: (\d+)", self.text).group(1))
        self.routes = os.path.join(self.work, "routes.yaml")
        self.save(self.text)
        self.blocker = socket.socket()
        self.blocker.bind(("127.0.0.1", 0))
        self.blocker.listen()
        self.chancery = Chancery(self.routes, os.path.join(self.work, "certs"))
        self.envoy = None
        self.envoy = Envoy(self.chancery, node=NODE)

    def save(self, content):
        with open(self.routes + ".tmp", "w") as f:
            f.write(content)
        os.rename(self.routes + ".tmp", self.routes)

    def admin_address(self):
        return f"127.0.0.1:{self.chancery.admin_port}"

    def stop(self):
        if self.envoy:
            self.envoy.stop()
        self.chancery.stop()
        self.blocker.close()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture(scope="module")
def site():
    running = Site()
    try:
        yield running
    finally:
        running.stop()


def status(*args):
    return subprocess.run([chancery_bin(), "status", *args], capture_output=True, text=True, timeout=30)


def node_row(output):
    rows = [line for line in output.splitlines() if line.startswith(NODE + " ")]
    return rows[0] if rows else None


def test_status_shows_a_converged_envoy_synced_and_exits_0(site):
    result = wait_until(lambda: (lambda r: r if r.returncode == 0 else None)(
        status("--admin", site.admin_address())), timeout=30, what="status exit 0")
    print(result.stdout)
    assert result.stdout.splitlines()[0].split() == ["NODE", "GROUP", "KIND", "LDS", "RDS", "CDS", "EDS", "SDS",
                                                     "AGE", "PEER"]
    row = node_row(result.stdout)
    assert row, result.stdout
    cells = row.split()
    assert cells[1:3] == ["default", "ads"]
    assert cells[3] == "SYNCED" and cells[5] == "SYNCED"  # LDS and CDS: what every Envoy asks for
    assert "STALE" not in row and "NACKED" not in row
    assert re.fullmatch(r"\d+[smhd]", cells[8]), row
    assert cells[9].startswith("127.0.0.1:")
    assert "\x1b" not in result.stdout  # not a terminal: plain text
    assert "1 streams: 1 synced, 0 stale, 0 nacked" in result.stdout
    # Filters reach /clients: this node's row alone; a node that is not connected is not synced (exit 1).
    mine = status("--admin", site.admin_address(), "--node", NODE, "--group", "default")
    assert mine.returncode == 0 and node_row(mine.stdout), mine.stdout
    other = status("--admin", site.admin_address(), "--node", "nobody")
    assert other.returncode == 1 and other.stdout == "no proxies connected\n"


def check_page(html):
    """The fleet row for the Envoy, synced; every section; the snapshot links."""
    row = re.search(r'<tr class="(\w+)"><td class="mono node">' + re.escape(NODE) + r"</td>(.*?)</tr>", html, re.S)
    assert row, html[:3000]
    assert row.group(1) == "synced" and '<td class="synced">SYNCED</td>' in row.group(2), row.group(0)
    for section in ("load", "fleet", "snapshot", "history", "certificates"):
        assert f'<section id="{section}">' in html
    assert 'href="/ui/snapshot?group=default&amp;type=cluster"' in html


def output_dir(tmp_path):
    """Screenshots go to $CHANCERY_TEST_OUTPUT when set (CI artifacts), else to the test's tmp dir."""
    folder = os.environ.get("CHANCERY_TEST_OUTPUT") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return folder


def test_admin_page_in_headless_chromium_with_javascript(site, tmp_path):
    wait_until(lambda: status("--admin", site.admin_address()).returncode == 0, timeout=30, what="synced")
    url = f"http://{site.admin_address()}/"
    check_page(browser.dump_dom(url, str(tmp_path)))
    view = browser.dump_dom(f"{url}ui/snapshot?group=default&type=cluster", str(tmp_path))
    assert "Group default: cluster" in view and re.search(r"\"name\": \"\w+\"", view), view[:2000]
    shot = os.path.join(output_dir(tmp_path), "admin-page-javascript-on.png")
    browser.screenshot(url, shot, str(tmp_path))
    print(f"screenshot: {shot}")


def test_admin_page_in_headless_chromium_without_javascript(site, tmp_path):
    wait_until(lambda: status("--admin", site.admin_address()).returncode == 0, timeout=30, what="synced")
    chromium = browser.PipeBrowser(str(tmp_path))
    try:
        tab = chromium.page(javascript=False)
        # JavaScript really is off in this tab: a page's script does not run.
        probe = chromium.load(tab, "data:text/html,<p id=p>static</p><script>p.textContent='ran'</script>")
        assert '<p id="p">static</p>' in probe, probe
        url = f"http://{site.admin_address()}/"
        check_page(chromium.load(tab, url))
        shot = os.path.join(output_dir(tmp_path), "admin-page-javascript-off.png")
        chromium.screenshot(tab, shot)
        print(f"screenshot: {shot}")
        # Following the link works without script too.
        view = chromium.load(tab, f"{url}ui/snapshot?group=default&type=cluster")
        assert "Group default: cluster" in view and re.search(r"\"name\": \"\w+\"", view), view[:2000]
    finally:
        chromium.close()


def test_status_shows_a_nack_exits_1_and_diff_reads_history(site):
    before = get_json(site.chancery.admin("/status"))["snapshot_version"]
    taken = site.blocker.getsockname()[1]
    site.save(site.text.replace(f"port: {site.ssh_port}", f"port: {taken}"))
    result = wait_until(lambda: (lambda r: r if r.returncode == 1 and "NACKED" in r.stdout else None)(
        status("--admin", site.admin_address())), timeout=30, what="status shows the NACK")
    print(result.stdout)
    row = node_row(result.stdout)
    assert row and row.split()[3] == "NACKED", result.stdout
    assert "ssh: cannot bind" in row
    assert "1 nacked" in result.stdout

    after = get_json(site.chancery.admin("/status"))["snapshot_version"]
    assert after != before
    diff = status("diff", before, after, "--admin", site.admin_address())
    print(diff.stdout)
    assert diff.returncode == 0, diff.stderr
    assert f"{before} → {after}: 1 snapshot" in diff.stdout
    assert re.search(r"default/listener\s+~ssh", diff.stdout), diff.stdout
    missing = status("diff", "nope", after, "--admin", site.admin_address())
    assert missing.returncode == 1 and "version nope is not in history" in missing.stderr


def test_status_exits_2_when_the_admin_cannot_be_reached():
    address = f"127.0.0.1:{free_port()}"
    result = status("--admin", address)
    assert result.returncode == 2
    assert f"cannot reach the admin endpoint at {address}" in result.stderr
    diff = status("diff", "a", "b", "--admin", address)
    assert diff.returncode == 2 and address in diff.stderr


def test_status_sends_the_admin_token(tmp_path):
    token = tmp_path / "admin-token"
    token.write_text("status-test-token-0123456789\n")
    admin_port = free_port()
    address = f"127.0.0.1:{admin_port}"
    # Started by hand: the harness's readiness probe carries no token.
    server = Process("chancery", [chancery_bin(), "serve", "--config", os.path.join(SITE, "routes.yaml"),
                                  "--certs", os.path.join(SITE, "certs"), "--xds", f"127.0.0.1:{free_port()}",
                                  "--admin", address, "--admin-token-file", str(token)])
    try:
        def ready():
            request = urllib.request.Request(f"http://{address}/readyz",
                                             headers={"Authorization": "Bearer status-test-token-0123456789"})
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200
        wait_until(ready, timeout=30, what=f"chancery ready\n{server.output()}")
        refused = status("--admin", address)
        assert refused.returncode == 2 and "wants a bearer token" in refused.stderr, refused.stderr
        allowed = status("--admin", address, "--admin-token-file", str(token))
        assert allowed.returncode == 0 and allowed.stdout == "no proxies connected\n", allowed.stderr
    finally:
        server.stop()
