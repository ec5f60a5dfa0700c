#!/usr/bin/env python3
"""A small xDS reference server on grpcio (asyncio), the yardstick for Chancery's load benchmark.

It serves the exact resources Chancery would (the `chancery render --format wire` output the load tool writes to
--resources) over ADS, SotW and delta, the way a straightforward control plane does: one response object per
stream and push, serialized by gRPC's C core. SIGHUP re-reads the file and pushes what changed to every stream.

    .venv/bin/python benchmarks/reference_server.py --port 18702 --resources resources.json
"""

import argparse
import asyncio
import base64
import hashlib
import json
import signal

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2

TYPE_URLS = {
    "listener": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "route": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "cluster": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "endpoint": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    "secret": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
}
# Types a proxy asks for without names (wildcard) when its first request names none.
WILDCARD_TYPES = {TYPE_URLS["listener"], TYPE_URLS["cluster"]}


class Snapshot:
    """Resources per type URL: name -> (Any, content hash), plus one version per type."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
        self.resources = {url: {} for url in TYPE_URLS.values()}
        for entry in entries:
            raw = base64.b64decode(entry["any"])
            message = any_pb2.Any.FromString(raw)
            self.resources[TYPE_URLS[entry["type"]]][entry["name"]] = (message, hashlib.sha1(raw).hexdigest()[:16])
        self.versions = {}
        for url, named in self.resources.items():
            digest = hashlib.sha1()
            for name in sorted(named):
                digest.update(name.encode() + b"\0" + named[name][1].encode())
            self.versions[url] = digest.hexdigest()[:16]


class Streams:
    """The current snapshot and a wake-up queue per open stream."""

    def __init__(self, path):
        self.path = path
        self.snapshot = Snapshot(path)
        self.queues = set()

    def reload(self):
        self.snapshot = Snapshot(self.path)
        for queue in list(self.queues):
            queue.put_nowait("changed")


class SotwStream:
    """State-of-the-world: per type the subscription, the version and nonce last sent."""

    def __init__(self, streams):
        self.streams = streams
        self.names = {}  # type URL -> set of names, or None for wildcard
        self.sent = {}  # type URL -> (version, frozenset of names) last sent
        self.nonces = {}
        self.counter = 0

    def on_request(self, request):
        url = request.type_url
        if request.response_nonce and request.response_nonce != self.nonces.get(url):
            return []  # stale: a newer response is on its way
        if url in WILDCARD_TYPES and not request.resource_names and (url not in self.names or self.names[url] is None):
            self.names[url] = None
        else:
            self.names[url] = set(request.resource_names)
        return self.pending([url])

    def pending(self, urls):
        snapshot = self.streams.snapshot
        out = []
        for url in urls:
            if url not in self.names:
                continue
            names = self.names[url]
            key = (snapshot.versions[url], None if names is None else frozenset(names))
            if self.sent.get(url) == key:
                continue
            self.sent[url] = key
            self.counter += 1
            nonce = str(self.counter)
            self.nonces[url] = nonce
            available = snapshot.resources[url]
            chosen = sorted(available) if names is None else sorted(n for n in names if n in available)
            out.append(
                discovery_pb2.DiscoveryResponse(
                    version_info=snapshot.versions[url],
                    type_url=url,
                    nonce=nonce,
                    resources=[available[n][0] for n in chosen],
                )
            )
        return out


class DeltaStream:
    """Incremental: per type the subscription and the hash of every resource the proxy holds."""

    def __init__(self, streams):
        self.streams = streams
        self.names = {}  # type URL -> set, or None for wildcard
        self.held = {}  # type URL -> {name: hash}
        self.counter = 0

    def on_request(self, request):
        url = request.type_url
        if url not in self.names:
            wildcard = url in WILDCARD_TYPES and not request.resource_names_subscribe
            self.names[url] = None if wildcard else set()
            self.held[url] = dict(request.initial_resource_versions)
        if self.names[url] is not None:
            self.names[url] |= set(request.resource_names_subscribe)
            self.names[url] -= set(request.resource_names_unsubscribe)
        return self.pending([url])

    def pending(self, urls):
        snapshot = self.streams.snapshot
        out = []
        for url in urls:
            if url not in self.names:
                continue
            available = snapshot.resources[url]
            names = self.names[url]
            wanted = available.keys() if names is None else names
            held = self.held[url]
            changed = [n for n in sorted(wanted) if n in available and held.get(n) != available[n][1]]
            removed = [n for n in sorted(held) if n not in available or (names is not None and n not in names)]
            if not changed and not removed:
                continue
            for name in changed:
                held[name] = available[name][1]
            for name in removed:
                held.pop(name, None)
            self.counter += 1
            out.append(
                discovery_pb2.DeltaDiscoveryResponse(
                    system_version_info=snapshot.versions[url],
                    type_url=url,
                    nonce=str(self.counter),
                    resources=[
                        discovery_pb2.Resource(name=n, version=available[n][1], resource=available[n][0])
                        for n in changed
                    ],
                    removed_resources=removed,
                )
            )
        return out


class Service(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    def __init__(self, streams):
        self.streams = streams

    async def _serve(self, state, request_iterator):
        queue = asyncio.Queue()
        self.streams.queues.add(queue)

        async def read():
            try:
                async for request in request_iterator:
                    queue.put_nowait(request)
            finally:
                queue.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if item == "changed":
                    responses = state.pending(list(state.names))
                else:
                    responses = state.on_request(item)
                for response in responses:
                    yield response
        finally:
            self.streams.queues.discard(queue)
            reader.cancel()

    async def StreamAggregatedResources(self, request_iterator, context):
        async for response in self._serve(SotwStream(self.streams), request_iterator):
            yield response

    async def DeltaAggregatedResources(self, request_iterator, context):
        async for response in self._serve(DeltaStream(self.streams), request_iterator):
            yield response


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--resources", required=True, help="JSON from `chancery render --format wire`")
    args = parser.parse_args()
    # A parent may start us with signals blocked (Foundation's Process does); the reload and stop signals must arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP, signal.SIGTERM, signal.SIGINT})
    streams = Streams(args.resources)
    server = grpc.aio.server(
        options=[("grpc.max_concurrent_streams", 100), ("grpc.max_receive_message_length", 64 << 20)]
    )
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(Service(streams), server)
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    await server.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, streams.reload)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await server.stop(0.5)


if __name__ == "__main__":
    asyncio.run(main())
