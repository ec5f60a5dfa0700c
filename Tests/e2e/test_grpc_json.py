"""gRPC-JSON transcoding through the real Envoy: JSON in over plain HTTP/1.1, the gRPC method called on an HTTP/2
backend (Python grpcio), JSON out; a gRPC error becomes an HTTP status; a service the descriptors do not hold is
refused before any proxy sees it."""
import http.client
import json
import os
import subprocess
import tempfile
import textwrap
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from harness import Chancery, Envoy, chancery_bin, free_port, wait_until

PROTO = """
syntax = "proto3";
package hello;
service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
message HelloRequest { string name = 1; int32 times = 2; }
message HelloReply { string message = 1; int32 count = 2; }
"""


def descriptors(work):
    """hello.proto compiled by protoc into certs/greeter/descriptors.pb; returns the message classes."""
    with open(os.path.join(work, "hello.proto"), "w") as f:
        f.write(PROTO)
    folder = os.path.join(work, "certs", "greeter")
    os.makedirs(folder)
    out = os.path.join(folder, "descriptors.pb")
    subprocess.run(["protoc", "--include_imports", f"--descriptor_set_out={out}", f"--proto_path={work}",
                    "hello.proto"], check=True, capture_output=True)
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read()).file:
        pool.Add(file)
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("hello.HelloRequest")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("hello.HelloReply")))


def greeter(port, request_class, reply_class):
    def say_hello(request, context):
        if request.name == "nobody":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such person")
        return reply_class(message=f"Hello {request.name}", count=request.times)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("hello.Greeter", {
        "SayHello": grpc.unary_unary_rpc_method_handler(
            say_hello, request_deserializer=request_class.FromString,
            response_serializer=reply_class.SerializeToString)})])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


def post(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def routes_file(work, port, backend_port, services):
    path = os.path.join(work, "routes.yaml")
    with open(path, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: api
                address: 127.0.0.1
                port: {port}
                hosts:
                  - domains: ["*"]
                    routes:
                      - prefix: /
                        cluster: greeter
                        grpc_json: {{ descriptors: greeter, services: {json.dumps(services)} }}
            clusters:
              - {{ name: greeter, endpoints: [127.0.0.1:{backend_port}], http2: true }}
        """))
    return path


def test_json_in_grpc_backend_json_out():
    work = tempfile.mkdtemp(prefix="chancery-grpc-json-")
    request_class, reply_class = descriptors(work)
    port, backend_port = free_port(), free_port()
    server = greeter(backend_port, request_class, reply_class)
    chancery = Chancery(routes_file(work, port, backend_port, ["hello.Greeter"]), os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="grpc-json-1")
        status, body = wait_until(
            lambda: (lambda r: r if r[0] == 200 else None)(post(port, "/hello.Greeter/SayHello",
                                                                {"name": "Ada", "times": 3})),
            timeout=30, what="a transcoded call")
        assert json.loads(body) == {"message": "Hello Ada", "count": 3}
        # Fields at their defaults are printed too.
        assert json.loads(post(port, "/hello.Greeter/SayHello", {"name": "Bo"})[1]) == {"message": "Hello Bo",
                                                                                       "count": 0}
        status, body = post(port, "/hello.Greeter/SayHello", {"name": "nobody"})
        assert status == 404, (status, body)
        assert json.loads(body)["message"] == "no such person"
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        server.stop(0)


def test_a_service_the_descriptors_lack_is_refused():
    work = tempfile.mkdtemp(prefix="chancery-grpc-json-bad-")
    descriptors(work)
    routes = routes_file(work, 8080, 9000, ["hello.Greeter", "hello.Greter"])
    result = subprocess.run([chancery_bin(), "validate", routes, "--certs", os.path.join(work, "certs")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "greeter/descriptors.pb has no service \"hello.Greter\" (it has hello.Greeter)" in result.stderr, \
        result.stderr
    # The cluster must speak HTTP/2: checked from the routes file alone.
    with open(routes) as f:
        text = f.read().replace(", http2: true", "")
    with open(routes, "w") as f:
        f.write(text)
    result = subprocess.run([chancery_bin(), "validate", routes], capture_output=True, text=True)
    assert "grpc_json calls gRPC on cluster \"greeter\", which does not speak HTTP/2" in result.stderr, result.stderr
