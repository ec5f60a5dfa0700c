"""A proxyless gRPC client (Python grpcio, target xds:///greeter) resolves through Chancery and completes an RPC."""
import os
import subprocess
import sys
import tempfile
import textwrap
from concurrent import futures

import grpc

from harness import Chancery, chancery_bin, get_json

CLIENT = textwrap.dedent("""
    import sys, grpc
    channel = grpc.insecure_channel("xds:///greeter")
    say = channel.unary_unary("/chancery.test.Echo/Say")
    print(say(b"hello", timeout=20).decode())
""")


def test_grpc_client_resolves_through_chancery_and_calls_backend():
    backend = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    backend.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("chancery.test.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(lambda request, context: b"echo:" + request),
    }),))
    port = backend.add_insecure_port("127.0.0.1:0")
    backend.start()
    work = tempfile.mkdtemp(prefix="chancery-grpc-")
    os.makedirs(os.path.join(work, "certs"))
    with open(os.path.join(work, "routes.yaml"), "w") as f:
        f.write(textwrap.dedent(f"""
            groups: [grpc]
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:{port}]
                http2: true
            grpc_services:
              - name: greeter
                cluster: greeter
        """))
    chancery = Chancery(os.path.join(work, "routes.yaml"), os.path.join(work, "certs"))
    try:
        bootstrap = subprocess.run([chancery_bin(), "bootstrap", "--node", "grpc-client-1", "--group", "grpc",
                                    "--format", "grpc", "--xds", f"127.0.0.1:{chancery.xds_port}"],
                                   check=True, capture_output=True, text=True).stdout
        path = os.path.join(work, "grpc-bootstrap.json")
        with open(path, "w") as f:
            f.write(bootstrap)
        # A separate process: gRPC reads its xDS bootstrap once per process.
        result = subprocess.run([sys.executable, "-c", CLIENT], env={**os.environ, "GRPC_XDS_BOOTSTRAP": path},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip() == "echo:hello"

        # The client spoke ADS through Chancery: it is gone now, but it must not have rejected anything.
        assert "rejected" not in chancery.output().lower(), chancery.output()[-2000:]
        assert get_json(chancery.admin("/status"))["ok"] is True
    finally:
        chancery.stop()
        backend.stop(0)
