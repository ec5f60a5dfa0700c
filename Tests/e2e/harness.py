"""Process harness for end-to-end tests: the real chancery binary, the real Envoy, local backends.

Everything listens on 127.0.0.1; every wait is bounded; every process is stopped at teardown.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Fixtures")


def chancery_bin():
    path = os.environ.get("CHANCERY_BIN")
    if not path:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        path = os.path.join(out, "chancery")
    assert os.path.exists(path), f"chancery binary not built at {path}"
    return path


def envoy_bin():
    path = shutil.which("envoy") or os.path.join(ROOT, ".venv", "bin", "envoy")
    assert os.path.exists(path), "envoy not installed: run scripts/setup"
    return path


_handed_out = set()


def free_port():
    """A port free right now, never one this process was given before: the kernel may hand out the same ephemeral
    port twice in a row once the first is closed, and two listeners of one routes file on one port is an error."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_until(check, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # the thing we wait for may not be up yet
            last = error
        time.sleep(interval)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})")


SERVING_LINE = re.compile(r"admin=\S*:(\d+) .*xds=(\S+) .*\[chancery\] serving")


def serving_addresses(output):
    """(admin_port, xds_address) from chancery's "serving" log line, in text or JSON (--log-format json) form."""
    match = SERVING_LINE.search(output)
    if match:
        return int(match.group(1)), match.group(2)
    for line in output.splitlines():
        if line.startswith("{") and '"serving"' in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "serving":
                return int(entry["admin"].rsplit(":", 1)[1]), entry["xds"]
    return None


def wait_serving(process, timeout=30.0):
    """Waits for chancery's "serving" log line and /readyz, and returns (admin_port, xds_address) as bound.

    Tests start chancery on port 0 and read the ports back, so no port handed out by `free_port` can be taken by
    another process in between. A process that exits fails at once, with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise AssertionError(f"{process.name} exited with {process.proc.returncode} before serving:\n"
                                 f"{process.output()}")
        found = serving_addresses(process.output())
        if found:
            admin_port, xds = found
            wait_until(lambda: process.alive() and http_get(f"http://127.0.0.1:{admin_port}/readyz")[0] == 200,
                       timeout=max(1.0, deadline - time.monotonic()), what=lambda: f"ready\n{process.output()}")
            return admin_port, xds
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {process.name} to serve:\n{process.output()}")


def http_get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def get_json(url):
    return json.loads(http_get(url)[1])


class Backend:
    """An HTTP server that answers every request with JSON naming itself, the Host and the path."""

    def __init__(self, name, port):
        backend_name = name

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = json.dumps({"backend": backend_name, "host": self.headers.get("Host"),
                                   "path": self.path,
                                   "xff": self.headers.get("X-Forwarded-For")}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Process:
    def __init__(self, name, args, cwd=ROOT):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig_timeout=10):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=sig_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


class Chancery(Process):
    def __init__(self, config, certs, extra=(), xds_port=None, admin_port=None):
        super().__init__("chancery", [chancery_bin(), "serve", "--config", config, "--certs", certs,
                                      "--xds", f"127.0.0.1:{xds_port or 0}",
                                      "--admin", f"127.0.0.1:{admin_port or 0}", *extra])
        self.admin_port, xds = wait_serving(self)
        self.xds_port = int(xds.rsplit(":", 1)[1])

    def admin(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"


class Envoy(Process):
    def __init__(self, chancery, node="e2e", group="default", ads="sotw", workdir=None):
        self.node = node
        self.admin_port = free_port()
        bootstrap = subprocess.run(
            [chancery_bin(), "bootstrap", "--node", node, "--group", group, "--ads", ads,
             "--xds", f"127.0.0.1:{chancery.xds_port}", "--envoy-admin", f"127.0.0.1:{self.admin_port}"],
            check=True, capture_output=True, text=True).stdout
        self.dir = workdir or tempfile.mkdtemp(prefix="envoy-")
        path = os.path.join(self.dir, "bootstrap.json")
        with open(path, "w") as f:
            f.write(bootstrap)
        super().__init__("envoy", [envoy_bin(), "-c", path, "--disable-hot-restart", "-l", "warning",
                                   "--drain-time-s", "1", "--parent-shutdown-time-s", "2"])
        wait_until(lambda: self.alive() and http_get(self.admin("/ready"))[1].strip() == "LIVE",
                   timeout=60, what=f"envoy LIVE\n{self.output()}")

    def admin(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def config_dump(self):
        return get_json(self.admin("/config_dump"))

    def stats(self):
        out = {}
        for line in http_get(self.admin("/stats"))[1].splitlines():
            key, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
                out[key] = int(value)
        return out
