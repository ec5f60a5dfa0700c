#!/usr/bin/env python3
"""Hostile-client measurements for issue 6 (resource limits), against a real `chancery serve`. Not part of CI.

Reproduces the two findings rows and reports what the server does now:

  streams  One connection, 1,000 ADS streams, each subscribing to 1,000 names of 1 KB (grpcio, which respects
           SETTINGS_MAX_CONCURRENT_STREAMS), plus a raw client that opens 1,000 streams without waiting for SETTINGS.
  fds      ~1,010 connections that send only the HTTP/2 preface while the server runs under a 1,024 fd limit
           (soft and hard, so `serve` cannot raise it).

For each: server RSS (VmRSS) before/during/after, the time a fresh ADS client waits for its first response, whether
/healthz answers, the server's CPU share while the load is held, whether the process survives, and the log lines.
Everything is on 127.0.0.1, bounded in count and time, and the server is stopped at the end.

  acks     One ADS stream pipelining 2,000 requests that name 1,000 endpoints of 64 bytes: the same list every time
           (as Envoy's ACKs do), then two lists in turn; server CPU per request, RSS, and whether it stays responsive.

  churn    One delta ADS stream pipelining 2,000 requests that subscribe to 1,000 endpoint names of 64 bytes and then
           unsubscribe them, in turn (every subscription is answered, rule 25), read by the client as they come;
           server CPU per request, RSS, and whether it stays responsive.

  .venv/bin/python Tests/hostile/xds_limits.py --bin .build/release/chancery [--scenario streams|fds|acks|churn|all]
"""
import argparse
import asyncio
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SITE = os.path.join(ROOT, "Fixtures", "example-site")
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
ADS = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, nofile=None, extra=()):
        self.xds_port, self.admin_port = free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="chancery-hostile-", suffix=".log", delete=False)

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [binary, "serve", "--config", os.path.join(SITE, "routes.yaml"), "--certs", os.path.join(SITE, "certs"),
             "--xds", f"127.0.0.1:{self.xds_port}", "--admin", f"127.0.0.1:{self.admin_port}", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.healthz(path="/readyz"):
                return
            time.sleep(0.1)
        raise SystemExit(f"chancery did not become ready:\n{self.output()}")

    def healthz(self, path="/healthz", timeout=3):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=timeout) as r:
                return r.status == 200
        except OSError:
            return False

    def alive(self):
        return self.proc.poll() is None

    def rss_mib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return float("nan")
        return float("nan")

    def cpu_share(self, seconds=2.0):
        def cpu():
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        before = cpu()
        time.sleep(seconds)
        return (cpu() - before) / seconds

    def open_fds(self):
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return -1

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def node(name):
    return base_pb2.Node(id=name, cluster="default")


def fresh_client_wait(port, timeout=15):
    """Seconds until a new ADS client gets its first (listener) response, or None."""
    start = time.monotonic()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        request = discovery_pb2.DiscoveryRequest(node=node("fresh"), type_url=LISTENER)
        next(stub.StreamAggregatedResources(iter([request]), timeout=timeout))
        return time.monotonic() - start
    except grpc.RpcError as error:
        print(f"  fresh client failed: {error.code()} {error.details()}")
        return None
    finally:
        channel.close()


def report(server, label):
    print(f"  [{label}] VmRSS {server.rss_mib():.0f} MiB, fds {server.open_fds()}, alive {server.alive()}")


# --- Row 1: many streams with large subscriptions on one connection -------------------------------------------


async def subscribe_many(port, streams, names, name_bytes, hold_seconds, server, connections=1):
    outcome = {"answered": 0, "resource_exhausted": 0, "other": 0, "waiting": 0}
    messages = {}
    pad = "x" * max(0, name_bytes - 12)
    # A local subchannel pool per channel: each channel is its own TCP connection.
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", 64 << 20),
               ("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(connections)]
    stubs = [ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel) for channel in channels]
    streams_per_connection = streams
    streams = streams * connections
    calls = []
    # One request object for every stream keeps this client small; the server decodes and keeps each copy.
    request = discovery_pb2.DiscoveryRequest(
        node=node("hostile"), type_url=ENDPOINT,
        resource_names=["www"] + [f"{n:06d}-{pad}"[:name_bytes] for n in range(names - 1)])

    async def one(index):
        call = stubs[index // streams_per_connection].StreamAggregatedResources()
        calls.append(call)
        try:
            await call.write(request)
            response = await call.read()
            if response is grpc.aio.EOF:
                code = await call.code()
                key = "resource_exhausted" if code == grpc.StatusCode.RESOURCE_EXHAUSTED else "other"
                outcome[key] += 1
                messages.setdefault(key, await call.details())
            else:
                outcome["answered"] += 1
        except grpc.aio.AioRpcError as error:
            key = "resource_exhausted" if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else "other"
            outcome[key] += 1
            messages.setdefault(key, error.details())
        except asyncio.CancelledError:
            outcome["waiting"] += 1
            raise

    tasks = [asyncio.create_task(one(i)) for i in range(streams)]
    start = time.monotonic()
    peak = 0.0
    while time.monotonic() - start < hold_seconds and not all(t.done() for t in tasks):
        await asyncio.sleep(0.5)
        peak = max(peak, server.rss_mib())
    peak = max(peak, server.rss_mib())
    print(f"  after {time.monotonic() - start:.1f}s: {outcome}, peak VmRSS {peak:.0f} MiB")
    report(server, "during, streams held")
    loop = asyncio.get_running_loop()
    wait = await loop.run_in_executor(None, fresh_client_wait, port)
    print(f"  fresh ADS client first response: {'%.3fs' % wait if wait is not None else 'NONE'}")
    print(f"  /healthz: {await loop.run_in_executor(None, server.healthz)}")
    print(f"  server CPU while held: {await loop.run_in_executor(None, server.cpu_share):.0%} of a core")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    outcome["waiting"] = streams - outcome["answered"] - outcome["resource_exhausted"] - outcome["other"]
    print(f"  final: {outcome}")
    for key, message in messages.items():
        print(f"  {key} message: {message}")
    for channel in channels:
        await channel.close()


def raw_headers(stream_id):
    """HEADERS (END_HEADERS) for a gRPC ADS request, every field a literal without indexing (short values only)."""
    block = b""
    for name, value in [(":method", "POST"), (":scheme", "http"), (":path", ADS), (":authority", "127.0.0.1"),
                        ("content-type", "application/grpc"), ("te", "trailers")]:
        block += b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
    return struct.pack(">I", len(block))[1:] + bytes([1, 4]) + struct.pack(">I", stream_id) + block


def raw_stream_flood(port, streams):
    """Opens `streams` streams at once without waiting for (or acknowledging) the server's SETTINGS."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                  + b"".join(raw_headers(2 * i + 1) for i in range(streams)))
        data = b""
        deadline = time.monotonic() + 5
        s.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    refused, goaway, i = 0, None, 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        kind = data[i + 3]
        payload = data[i + 9:i + 9 + length]
        if kind == 3 and int.from_bytes(payload[:4], "big") == 7:
            refused += 1
        if kind == 7:
            goaway = int.from_bytes(payload[4:8], "big")
        i += 9 + length
    print(f"  raw client, {streams} streams before SETTINGS: {refused} refused with RST_STREAM(REFUSED_STREAM), "
          f"GOAWAY code {goaway}")


def scenario_streams(args):
    print("== streams: %d connection(s), %d ADS streams each x %d names of %d bytes"
          % (args.stream_connections, args.streams, args.names, args.name_bytes))
    server = Server(args.bin)
    try:
        report(server, "before")
        asyncio.run(subscribe_many(server.xds_port, args.streams, args.names, args.name_bytes, args.hold, server,
                                   args.stream_connections))
        raw_stream_flood(server.xds_port, args.streams)
        time.sleep(1)
        report(server, "after, clients gone")
        print(f"  fresh ADS client first response after: {fresh_client_wait(server.xds_port)}")
    finally:
        lines = [l for l in server.output().splitlines() if "limit" in l or "budget" in l or "refus" in l]
        server.stop()
        print(f"  log lines about limits ({len(lines)}):")
        for line in lines[:8]:
            print("    " + line[:240])


# --- ACKs that repeat (or alternate) a large list of names, pipelined on one stream -----------------------------


def subscribed_count(server, node_id):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/clients", timeout=5) as r:
        import json
        for client in json.load(r):
            if client["node_id"] == node_id:
                return client["types"].get("endpoint", {}).get("subscribed_count")
    return None


async def ack_flood(server, count, names, name_bytes, alternate):
    """`count` requests on one ADS stream, each naming `names` endpoints (a stale nonce, so none is answered), the
    same list every time or two lists in turn; then one with a third list, whose count on /clients says every
    request before it was read. Returns (seconds, server CPU seconds)."""
    pad = "x" * max(0, name_bytes - 12)
    # "www" exists in the example site, so the first request is answered (names that do not exist are not, rule 19).
    lists = [["www"] + [f"{tag}{n:06d}-{pad}"[:name_bytes] for n in range(names - 1)] for tag in "ab"]
    last = lists[0][: names // 2]
    node_id = f"acks-{'alt' if alternate else 'same'}"
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.xds_port}",
                                        options=[("grpc.max_send_message_length", -1)])
    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    call = stub.StreamAggregatedResources()
    await call.write(discovery_pb2.DiscoveryRequest(node=node(node_id), type_url=ENDPOINT, resource_names=lists[0]))
    await call.read()
    requests = [discovery_pb2.DiscoveryRequest(type_url=ENDPOINT, resource_names=lists[i % 2 if alternate else 0],
                                               response_nonce="stale").SerializeToString() for i in range(2)]
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_before = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    for i in range(count):
        await call.write(discovery_pb2.DiscoveryRequest.FromString(requests[i % 2]))
    await call.write(discovery_pb2.DiscoveryRequest(type_url=ENDPOINT, resource_names=last, response_nonce="stale"))
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, subscribed_count, server, node_id) != len(last):
        await asyncio.sleep(0.05)
        if time.monotonic() - start > 120:
            raise SystemExit("the server did not read the requests within 120 s")
    elapsed = time.monotonic() - start
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") - cpu_before
    call.cancel()
    await channel.close()
    return elapsed, cpu


def scenario_acks(args):
    print(f"== acks: {args.acks} pipelined requests on one ADS stream, {args.names} endpoint names of "
          f"{args.ack_name_bytes} bytes each")
    server = Server(args.bin)
    try:
        report(server, "before")
        for alternate in (False, True):
            elapsed, cpu = asyncio.run(ack_flood(server, args.acks, args.names, args.ack_name_bytes, alternate))
            label = "two lists in turn" if alternate else "the same list"
            print(f"  {label}: read in {elapsed:.2f}s, server CPU {cpu:.2f}s "
                  f"({1e6 * cpu / args.acks:.0f} µs per request)")
            report(server, f"after {label}")
            print(f"  /healthz: {server.healthz()}")
        wait = fresh_client_wait(server.xds_port)
        print(f"  fresh ADS client first response after: {'%.3fs' % wait if wait is not None else 'NONE'}")
    finally:
        server.stop()


# --- Delta subscriptions of many names, subscribed and unsubscribed in turn, pipelined on one stream ---------------


def server_cpu(server):
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def delta_churn(server, count, names, name_bytes):
    """`count` delta requests on one ADS stream, subscribing `names` endpoint names and unsubscribing them in turn,
    while a reader drains the answers; then one subscribing half the names, whose count on /clients says every
    request before it was read. Returns (seconds, server CPU seconds, responses read)."""
    pad = "x" * max(0, name_bytes - 12)
    # "www" exists in the example site; the others do not and are answered in removed_resources (rule 27).
    wanted = ["www"] + [f"c{n:06d}-{pad}"[:name_bytes] for n in range(names - 1)]
    last = wanted[: names // 2]
    node_id = "churn"
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.xds_port}",
                                        options=[("grpc.max_send_message_length", -1),
                                                 ("grpc.max_receive_message_length", -1)])
    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    call = stub.DeltaAggregatedResources()
    await call.write(discovery_pb2.DeltaDiscoveryRequest(node=node(node_id), type_url=ENDPOINT))
    read = 0

    async def drain():
        nonlocal read
        async for _ in call:
            read += 1

    reader = asyncio.create_task(drain())
    requests = [
        discovery_pb2.DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_subscribe=wanted),
        discovery_pb2.DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_unsubscribe=wanted),
    ]
    cpu_before = server_cpu(server)
    start = time.monotonic()
    for i in range(count - count % 2):
        await call.write(requests[i % 2])
    await call.write(discovery_pb2.DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_subscribe=last))
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, subscribed_count, server, node_id) != len(last):
        await asyncio.sleep(0.05)
        if time.monotonic() - start > 120:
            raise SystemExit("the server did not read the requests within 120 s")
    elapsed = time.monotonic() - start
    cpu = server_cpu(server) - cpu_before
    reader.cancel()
    call.cancel()
    await channel.close()
    return elapsed, cpu, read


def scenario_churn(args):
    print(f"== churn: {args.acks} pipelined delta requests on one ADS stream, subscribing and unsubscribing "
          f"{args.names} endpoint names of {args.ack_name_bytes} bytes in turn")
    server = Server(args.bin)
    try:
        report(server, "before")
        elapsed, cpu, read = asyncio.run(delta_churn(server, args.acks, args.names, args.ack_name_bytes))
        print(f"  read in {elapsed:.2f}s, server CPU {cpu:.2f}s ({1e6 * cpu / args.acks:.0f} µs per request), "
              f"{read} responses read by the client")
        report(server, "after")
        print(f"  /healthz: {server.healthz()}")
        wait = fresh_client_wait(server.xds_port)
        print(f"  fresh ADS client first response after: {'%.3fs' % wait if wait is not None else 'NONE'}")
    finally:
        server.stop()


# --- Row 2: preface-only connections at the fd limit -----------------------------------------------------------


def scenario_fds(args):
    print(f"== fds: {args.connections} preface-only connections, server under RLIMIT_NOFILE {args.nofile}:{args.nofile}")
    server = Server(args.bin, nofile=args.nofile)
    sockets = []
    try:
        report(server, "before")
        refused = 0
        for _ in range(args.connections):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", server.xds_port))
                s.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            except OSError:
                refused += 1
            sockets.append(s)
        time.sleep(1)
        closed = 0
        for s in sockets:
            s.setblocking(False)
            try:
                while True:  # the server's SETTINGS come first; EOF after them means it closed the connection
                    if s.recv(65536) == b"":
                        closed += 1
                        break
            except (BlockingIOError, OSError):
                pass
        print(f"  opened {len(sockets)}, refused at connect {refused}, already closed by the server {closed}")
        report(server, "during, connections held")
        print(f"  server CPU while held: {server.cpu_share():.0%} of a core")
        wait = fresh_client_wait(server.xds_port)
        print(f"  fresh ADS client first response: {'%.3fs' % wait if wait is not None else 'NONE'}")
        print(f"  /healthz: {server.healthz()}")
    finally:
        for s in sockets:
            s.close()
        time.sleep(1)
        report(server, "after, connections closed")
        print(f"  fresh ADS client first response after: {fresh_client_wait(server.xds_port)}")
        lines = [l for l in server.output().splitlines()
                 if "descriptor" in l or "connection" in l or "accept" in l]
        server.stop()
        print(f"  log lines about descriptors and connections ({len(lines)}):")
        for line in lines[:8]:
            print("    " + line[:240])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "chancery"))
    parser.add_argument("--scenario", choices=["streams", "fds", "acks", "churn", "all"], default="all")
    parser.add_argument("--streams", type=int, default=1000, help="ADS streams per connection")
    parser.add_argument("--stream-connections", type=int, default=1)
    parser.add_argument("--names", type=int, default=1000)
    parser.add_argument("--name-bytes", type=int, default=1024)
    parser.add_argument("--hold", type=float, default=20, help="seconds to wait for the streams' answers")
    parser.add_argument("--connections", type=int, default=1010)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--acks", type=int, default=2000, help="pipelined requests in the acks scenario")
    parser.add_argument("--ack-name-bytes", type=int, default=64, help="name size in the acks scenario")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"no chancery binary at {args.bin}: nice -n 10 swift build -c release --product chancery")
    if args.scenario in ("streams", "all"):
        scenario_streams(args)
    if args.scenario in ("fds", "all"):
        scenario_fds(args)
    if args.scenario in ("acks", "all"):
        scenario_acks(args)
    if args.scenario in ("churn", "all"):
        scenario_churn(args)


if __name__ == "__main__":
    main()
