"""Headless Debian chromium for the admin page tests, driven over the DevTools protocol on a pipe (stdlib only).

`--dump-dom` reads the DOM by running script in the page, so with JavaScript disabled it prints nothing; over the
pipe, `Emulation.setScriptExecutionDisabled` turns the page's scripts off and `DOM.getOuterHTML` reads the DOM
without any. Every read is bounded by a deadline; the browser is closed (or killed) at the end.
"""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time


def chromium_bin():
    path = shutil.which("chromium")
    assert path, "chromium is not installed: run scripts/setup"
    return path


# Root cannot use chromium's sandbox; these flags also keep it off the GPU and /dev/shm of a container.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--window-size=1400,1000"]


def dump_dom(url, workdir, timeout=90):
    """The DOM after load with JavaScript on, as chromium's own `--dump-dom` prints it."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    result = subprocess.run([chromium_bin(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(url, path, workdir, timeout=90):
    """A PNG of the page with JavaScript on (`--screenshot`)."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    result = subprocess.run([chromium_bin(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={path}", url],
                            capture_output=True, text=True, timeout=timeout, cwd=workdir)
    assert result.returncode == 0 and os.path.getsize(path) > 1000, result.stderr[-2000:]


class PipeBrowser:
    """One chromium with `--remote-debugging-pipe`: commands go to its fd 3, replies come from its fd 4."""

    def __init__(self, workdir, timeout=90):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Above the low descriptors, so placing them at 3 and 4 in the child cannot overwrite one another.
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 20)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 20)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def place():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        self.proc = subprocess.Popen(
            [chromium_bin(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), preexec_fn=place, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(child_r)
        os.close(child_w)
        self.commands = os.fdopen(to_browser_w, "wb", buffering=0)
        self.replies = os.fdopen(from_browser_r, "rb", buffering=0)
        os.set_blocking(from_browser_r, False)
        self.buffer = b""
        self.last_id = 0
        self.events = []
        self.deadline = time.monotonic() + timeout

    def _message(self):
        while b"\0" not in self.buffer:
            if time.monotonic() > self.deadline:
                raise TimeoutError("chromium did not answer in time")
            try:
                chunk = self.replies.read(1 << 16)
            except BlockingIOError:
                chunk = None
            if chunk is None:
                time.sleep(0.02)
                continue
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method, session=None, **params):
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.commands.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event):
        for index, seen in enumerate(self.events):
            if seen.get("method") == event:
                return self.events.pop(index)
        while True:
            message = self._message()
            if message.get("method") == event:
                return message

    def page(self, javascript):
        """A new tab; with `javascript` False its scripts never run."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=session)
        self.call("Emulation.setScriptExecutionDisabled", session=session, value=not javascript)
        return session

    def load(self, session, url):
        """Navigates and returns the DOM once the load event fired."""
        self.events.clear()
        self.call("Page.navigate", session=session, url=url)
        self.wait_for("Page.loadEventFired")
        root = self.call("DOM.getDocument", session=session)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", session=session, nodeId=root)["outerHTML"]

    def screenshot(self, session, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("Page.captureScreenshot", session=session)["data"]))
        assert os.path.getsize(path) > 1000

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:  # already gone: killed below if need be
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.commands.close()
        self.replies.close()
