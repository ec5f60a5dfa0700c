"""Captures the bytes real HTTP/2 gRPC clients send (grpcio's C core, and curl's nghttp2) through a recording proxy
in front of a grpcio echo server on 127.0.0.1; writes one seed per call (flag byte 0, then the client's bytes):
    .venv/bin/python Fuzz/seed-tools/capture_grpc.py Fuzz/corpus/FuzzGRPCConnection"""
import os, socket, subprocess, sys, threading, time
from concurrent import futures
import grpc

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def echo_stream(requests, context):
    for r in requests:
        yield r

server = grpc.server(futures.ThreadPoolExecutor(4))
ident = lambda b: b
handler = grpc.method_handlers_generic_handler("test.Echo", {
    "Echo": grpc.stream_stream_rpc_method_handler(echo_stream, ident, ident),
    "Unary": grpc.unary_unary_rpc_method_handler(lambda r, c: r, ident, ident),
})
server.add_generic_rpc_handlers((handler,))
backend = server.add_insecure_port("127.0.0.1:0")
server.start()

def pipe(src, dst, record):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if record is not None:
                record.append(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try: dst.shutdown(socket.SHUT_WR)
        except OSError: pass

def capture(name, call):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0)); listener.listen(1)
    port = listener.getsockname()[1]
    record = []
    def accept():
        client, _ = listener.accept()
        upstream = socket.create_connection(("127.0.0.1", backend))
        t1 = threading.Thread(target=pipe, args=(client, upstream, record)); t1.start()
        t2 = threading.Thread(target=pipe, args=(upstream, client, None)); t2.start()
        t1.join(5); t2.join(5)
        client.close(); upstream.close()
    t = threading.Thread(target=accept, daemon=True); t.start()
    call(port)
    t.join(5)
    listener.close()
    data = b"".join(record)
    open(os.path.join(out, name), "wb").write(b"\x00" + data)
    print(name, len(data))

def with_channel(body):
    def run(port):
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_retries", 0)])
        try:
            body(channel)
        finally:
            channel.close()
    return run

def unary(channel):
    channel.unary_unary("/test.Echo/Unary")(b"hello", timeout=5)

def bidi(channel):
    msgs = [b"one", b"x" * 300, b"", b"\x0a\x05hello"]
    list(channel.stream_stream("/test.Echo/Echo")(iter(msgs), timeout=5))

def metadata(channel):
    channel.unary_unary("/test.Echo/Unary")(b"m", timeout=2, metadata=[("x-request-id", "abc"), ("trace-bin", b"\x00\x01")])

def unknown(channel):
    try:
        channel.unary_unary("/test.Echo/Missing")(b"?", timeout=5)
    except grpc.RpcError:
        pass

def xds(channel):
    from envoy.service.discovery.v3 import discovery_pb2 as d
    req = d.DiscoveryRequest(type_url="type.googleapis.com/envoy.config.cluster.v3.Cluster").SerializeToString()
    try:
        list(channel.stream_stream("/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources")(iter([req]), timeout=2))
    except grpc.RpcError:
        pass

capture("grpcio-unary", with_channel(unary))
capture("grpcio-bidi", with_channel(bidi))
capture("grpcio-metadata-timeout", with_channel(metadata))
capture("grpcio-unknown-method", with_channel(unknown))
capture("grpcio-ads", with_channel(xds))

def curl(path, body, extra=()):
    def run(port):
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5", "--http2-prior-knowledge", "-X", "POST",
                        "-H", "content-type: application/grpc", "-H", "te: trailers", *extra,
                        "--data-binary", "@-", f"http://127.0.0.1:{port}{path}"], input=body)
    return run

framed = lambda m: b"\x00" + len(m).to_bytes(4, "big") + m
capture("curl-unary", curl("/test.Echo/Unary", framed(b"hi")))
capture("curl-two-messages", curl("/test.Echo/Echo", framed(b"a") + framed(b"b" * 40)))
capture("curl-get", lambda port: subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/test.Echo/Echo"]))
capture("curl-bad-content-type", curl("/test.Echo/Echo", framed(b"a"), ["-H", "content-type: text/plain"]))
server.stop(0)
