#!/usr/bin/env python3
"""Hostile admin clients against a running release `chancery serve`: reproduces each row of the admin findings.

NOT run in CI. Everything targets 127.0.0.1, is bounded in count and time, and stops by itself.

    swift build -c release --product chancery
    .venv/bin/python Tests/hostile/admin_abuse.py --bin .build/release/chancery [--rows pipeline,clients,slowloris]

For each row it reports the server's RSS (VmRSS) before/during/after, how long a fresh ADS client waits for its
first response, /healthz latency, and whether the process survived. Needs grpcio and the xds protos from the .venv.
"""
import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SITE = os.path.join(ROOT, "Fixtures", "example-site")
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        return None
    return None


def request(node):
    return discovery_pb2.DiscoveryRequest(node=base_pb2.Node(id=node, cluster="default"), type_url=LISTENER)


def fresh_ads_seconds(xds_port, node="hostile-probe", timeout=60.0):
    """Seconds a new ADS client on a new connection waits for its first response (None: none within timeout)."""
    start = time.monotonic()
    channel = grpc.insecure_channel(f"127.0.0.1:{xds_port}", options=[("grpc.use_local_subchannel_pool", 1)])
    try:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        call = stub.StreamAggregatedResources(iter([request(node)]), timeout=timeout)
        next(call)
        return round(time.monotonic() - start, 3)
    except grpc.RpcError:
        return None
    finally:
        channel.close()


def healthz_seconds(admin_port, timeout=10.0):
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/healthz", timeout=timeout) as response:
            response.read()
        return round(time.monotonic() - start, 3)
    except Exception:
        return None


def probes(server, count=5):
    """Fresh ADS latency (p50) and /healthz latency (p50) over `count` tries; None counts as a failure."""
    ads = [fresh_ads_seconds(server.xds) for _ in range(count)]
    health = [healthz_seconds(server.admin) for _ in range(count)]

    def p50(values):
        ok = [v for v in values if v is not None]
        return statistics.median(ok) if ok else None

    return {"ads_p50_s": p50(ads), "ads_failed": ads.count(None), "healthz_p50_s": p50(health),
            "healthz_failed": health.count(None)}


class Server:
    def __init__(self, binary):
        self.xds, self.admin = free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="chancery-hostile-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "serve", "--config", os.path.join(SITE, "routes.yaml"),
                                      "--certs", os.path.join(SITE, "certs"), "--log-level", "warning",
                                      "--xds", f"127.0.0.1:{self.xds}", "--admin", f"127.0.0.1:{self.admin}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and healthz_seconds(self.admin, 1) is None:
            time.sleep(0.2)

    @property
    def rss(self):
        return rss_mb(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def row_pipeline(server, requests=20000, hold=20.0):
    """One client pipelines `requests` GET /snapshot and never reads."""
    before = server.rss
    sock = socket.create_connection(("127.0.0.1", server.admin))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    payload = b"GET /snapshot HTTP/1.1\r\nHost: x\r\n\r\n" * requests
    sock.settimeout(hold)

    def push():
        try:
            sock.sendall(payload)
        except OSError:
            pass  # the server stopped reading (the point) or closed us

    sender = threading.Thread(target=push, daemon=True)
    sender.start()
    time.sleep(hold / 2)
    during = server.rss
    seen = probes(server)
    peak = max(during or 0, server.rss or 0)
    sock.close()
    time.sleep(3)
    return {"rss_before_mb": before, "rss_during_mb": peak, "rss_after_mb": server.rss, **seen,
            "survived": server.alive()}


def hold_streams(xds_port, total, connections, ready_file):
    """Child process: opens `total` ADS streams over `connections` HTTP/2 connections and keeps them open."""
    async def main():
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{xds_port}", options=[
            ("grpc.use_local_subchannel_pool", 1), ("grpc.max_receive_message_length", 64 << 20)])
            for _ in range(connections)]
        calls = []

        async def open_one(i):
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channels[i % connections])
            call = stub.StreamAggregatedResources()
            await call.write(request(f"hostile-{i}"))
            await asyncio.wait_for(call.read(), 60)
            calls.append(call)

        batch = 250
        for start in range(0, total, batch):
            await asyncio.gather(*(open_one(i) for i in range(start, min(total, start + batch))),
                                 return_exceptions=True)
        with open(ready_file, "w") as f:
            f.write(str(len(calls)))
        await asyncio.sleep(600)  # the parent kills us long before

    asyncio.run(main())


def row_clients(server, streams=5000, connections=10, seconds=20.0):
    """`streams` open ADS streams, while two clients read /clients in a loop."""
    before = server.rss
    ready = tempfile.mktemp(prefix="chancery-hostile-ready-")
    holder = subprocess.Popen([sys.executable, __file__, "--hold-streams", str(streams), "--xds-port",
                               str(server.xds), "--connections", str(connections), "--ready-file", ready])
    deadline = time.monotonic() + 300
    while not os.path.exists(ready) and time.monotonic() < deadline and holder.poll() is None:
        time.sleep(0.5)
    opened = int(open(ready).read()) if os.path.exists(ready) else 0
    idle = probes(server)
    stop = threading.Event()
    renders = []

    def hammer():
        while not stop.is_set():
            start = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.admin}/clients", timeout=30) as r:
                    r.read()
                renders.append(time.monotonic() - start)
            except Exception:
                renders.append(None)

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(2)
    during = probes(server)
    rss_during = server.rss
    time.sleep(max(0.0, seconds - 2))
    stop.set()
    for t in threads:
        t.join(35)
    holder.kill()
    holder.wait()
    time.sleep(3)
    ok = [r for r in renders if r is not None]
    return {"streams_open": opened, "rss_before_mb": before, "rss_during_mb": rss_during,
            "rss_after_mb": server.rss, "clients_renders": len(ok), "clients_failed": renders.count(None),
            "clients_render_p50_s": round(statistics.median(ok), 4) if ok else None,
            "probes_with_streams_idle_admin": idle, **during, "survived": server.alive()}


def row_slowloris(server, connections=300, seconds=30.0):
    """`connections` admin clients sending a request head one byte per second."""
    before = server.rss
    socks = []
    for _ in range(connections):
        try:
            s = socket.create_connection(("127.0.0.1", server.admin), timeout=5)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    head = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    start = time.monotonic()
    sent = 0
    seen = later = None
    while time.monotonic() - start < seconds and sent < len(head):
        for s in socks:
            try:
                s.send(head[sent:sent + 1])
            except OSError:
                pass
        sent += 1
        if seen is None and time.monotonic() - start > 3:
            seen = probes(server, 3)  # while the slow heads fill the connection cap
        if later is None and time.monotonic() - start > 15:
            later = probes(server, 3)  # after the header timeout closed them
        time.sleep(1)
    still_open = 0
    for s in socks:
        try:
            s.send(b"a")
            if s.recv(1) != b"":
                still_open += 1
        except BlockingIOError:
            still_open += 1  # nothing to read and not closed: still open
        except OSError:
            pass
    during = server.rss
    for s in socks:
        s.close()
    time.sleep(2)
    return {"connections": len(socks), "seconds": round(time.monotonic() - start, 1), "still_open": still_open,
            "rss_before_mb": before, "rss_during_mb": during, "rss_after_mb": server.rss, **(seen or {}),
            "probes_after_15s": later, "survived": server.alive()}


ROWS = {"pipeline": row_pipeline, "clients": row_clients, "slowloris": row_slowloris}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "chancery"))
    parser.add_argument("--rows", default="pipeline,clients,slowloris")
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--hold-streams", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--xds-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hold_streams:
        hold_streams(args.xds_port, args.hold_streams, args.connections, args.ready_file)
        return
    results = {}
    for name in args.rows.split(","):
        server = Server(args.bin)  # a fresh server per row: RSS and state do not carry over
        try:
            baseline = probes(server, 3)
            row = ROWS[name](server, **({"streams": args.streams} if name == "clients" else {}))
            results[name] = {"baseline": baseline, **row}
        finally:
            server.stop()
        print(name, json.dumps(results[name], indent=1), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
