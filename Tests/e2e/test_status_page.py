"""`chancery status` and the admin web page against a real Envoy (issue 12, items 1 and 4): the table says SYNCED
and exits 0 for a converged Envoy, NACKED and 1 once Envoy rejects an update, 2 when the admin cannot be reached;
`status diff` reads /history; Debian's headless chromium renders `/` with JavaScript on and off."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

from harness import FIXTURES, Chancery, Envoy, chancery_bin, free_port, get_json, wait_until

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
    # Filters reach /clients: another node matches nothing.
    other = status("--admin", site.admin_address(), "--node", "nobody")
    assert other.returncode == 0 and other.stdout == "no proxies connected\n"


def chromium(url, out_dir, *extra):
    browser = shutil.which("chromium")
    assert browser, "chromium is not installed: run scripts/setup"
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=out_dir)
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", f"--user-data-dir={profile}", "--window-size=1400,1000", *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("javascript", ["on", "off"])
def test_admin_page_renders_in_headless_chromium(site, tmp_path, javascript):
    wait_until(lambda: status("--admin", site.admin_address()).returncode == 0, timeout=30, what="synced")
    flags = [] if javascript == "on" else ["--blink-settings=scriptEnabled=false"]
    url = f"http://{site.admin_address()}/"
    dom = chromium(url, str(tmp_path), "--dump-dom", *flags)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert f'<td class="mono node">{NODE}</td>' in html, html[:3000]
    row = re.search(r'<tr class="(\w+)"><td class="mono node">' + re.escape(NODE) + r"</td>(.*?)</tr>", html, re.S)
    assert row and row.group(1) == "synced", html[:3000]
    assert '<td class="synced">SYNCED</td>' in row.group(2)
    for section in ("load", "fleet", "snapshot", "history", "certificates"):
        assert f'<section id="{section}">' in html
    assert 'href="/ui/snapshot?group=default&amp;type=cluster"' in html
    # The linked snapshot view renders the group's clusters.
    view = chromium(f"http://{site.admin_address()}/ui/snapshot?group=default&type=cluster", str(tmp_path),
                    "--dump-dom", *flags)
    assert view.returncode == 0 and "Group default: cluster" in view.stdout and "&quot;name&quot;" in view.stdout
    shot = os.path.join(str(tmp_path), f"admin-page-js-{javascript}.png")
    taken = chromium(url, str(tmp_path), f"--screenshot={shot}", *flags)
    assert taken.returncode == 0 and os.path.getsize(shot) > 1000, taken.stderr[-2000:]
    print(f"screenshot: {shot}")


def test_status_shows_a_nack_exits_1_and_diff_reads_history(site):
    before = get_json(site.chancery.admin("/status"))["snapshot_version"]
    taken = site.blocker.getsockname()[1]
    site.save(site.text.replace(f"port: {site.ssh_port}", f"port: {taken}"))
    result = wait_until(lambda: (lambda r: r if r.returncode == 1 and "NACKED" in r.stdout else None)(
        status("--admin", site.admin_address())), timeout=30, what="status shows the NACK")
    print(result.stdout)
    row = node_row(result.stdout)
    assert row and row.split()[3] == "NACKED", result.stdout
    assert "cannot bind" in row
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
