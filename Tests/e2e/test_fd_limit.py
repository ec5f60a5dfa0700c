"""chancery serve under a small file descriptor limit (256:256): a flood of connections that send only the HTTP/2
preface must neither stop xDS and the admin endpoint nor make the accept loop spin.

Runs chancery in its own process with RLIMIT_NOFILE lowered by preexec_fn, so the test process keeps its own limit.
"""
import os
import resource
import socket
import subprocess
import tempfile
import time

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from harness import FIXTURES, chancery_bin, free_port, http_get, wait_until

SITE = os.path.join(FIXTURES, "example-site")
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS
LIMIT = 256
FLOOD = 400  # more connections than the server has descriptors


def limit_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


class LimitedChancery:
    def __init__(self, extra=()):
        self.xds_port = free_port()
        self.admin_port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="chancery-fd-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [chancery_bin(), "serve", "--config", os.path.join(SITE, "routes.yaml"), "--certs",
             os.path.join(SITE, "certs"), "--xds", f"127.0.0.1:{self.xds_port}",
             "--admin", f"127.0.0.1:{self.admin_port}", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit_fds)
        wait_until(lambda: self.proc.poll() is None and http_get(self.admin("/readyz"))[0] == 200, timeout=30,
                   what=f"chancery ready\n{self.output()}")

    def admin(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def flood(port, count):
    """Opens `count` connections that send the preface and SETTINGS and nothing else."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(PREFACE)
        except OSError:
            pass  # refused, or closed by the server at the limit: part of what is tested
        sockets.append(s)
    return sockets


def first_listener_response(port, timeout=10):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        request = discovery_pb2.DiscoveryRequest(node=base_pb2.Node(id="fresh", cluster="default"), type_url=LISTENER)
        return next(stub.StreamAggregatedResources(iter([request]), timeout=timeout))
    finally:
        channel.close()


def cpu_share_over(server, seconds=2.0):
    before = server.cpu_seconds()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / seconds


def test_preface_flood_at_the_fd_limit_keeps_xds_and_admin_answering():
    server = LimitedChancery(["--handshake-timeout", "60"])
    sockets = []
    try:
        log = server.output()
        assert "file descriptor limit" in log and f"hard={LIMIT}" in log
        assert "capped below the file descriptor limit" in log
        sockets = flood(server.xds_port, FLOOD)
        assert server.proc.poll() is None
        share = cpu_share_over(server)
        assert share < 0.25, f"server used {share:.0%} of a core while the flood was held"
        response = first_listener_response(server.xds_port)
        assert response.type_url == LISTENER and len(response.resources) > 0
        assert http_get(server.admin("/healthz"))[0] == 200
        # Hundreds of evictions, a handful of log lines.
        evictions = server.output().count("closing the oldest connection without a stream")
        assert 1 <= evictions <= 5, server.output()[-3000:]
    finally:
        for s in sockets:
            s.close()
        server.stop()


def test_accept_failures_back_off_instead_of_spinning():
    # No reserve and no cap below the limit: xDS connections alone exhaust the descriptors and accept(2) fails.
    server = LimitedChancery(["--handshake-timeout", "60", "--fd-reserve", "0"])
    sockets = []
    try:
        sockets = flood(server.xds_port, FLOOD)
        wait_until(lambda: "accept failed" in server.output(), timeout=15, what="the accept failure is logged")
        share = cpu_share_over(server)
        assert share < 0.25, f"server used {share:.0%} of a core while accept(2) was failing"
        assert server.proc.poll() is None
        assert server.output().count("accept failed") <= 3
        # The reserve descriptor admits one pending connection at a time, which is closed at once.
        wait_until(lambda: "out of file descriptors; closing a new connection" in server.output(), timeout=10,
                   what="a connection shed with the reserve descriptor")
        for s in sockets:
            s.close()
        sockets = []
        # Descriptors come back: a fresh proxy is served again.
        response = wait_until(lambda: first_listener_response(server.xds_port, timeout=3), timeout=20,
                              what="a fresh ADS client served after the flood")
        assert response.type_url == LISTENER
    finally:
        for s in sockets:
            s.close()
        server.stop()
