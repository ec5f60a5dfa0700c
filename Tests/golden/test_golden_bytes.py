"""The bytes behind every golden file, decoded by the official Envoy protos (PyPI xds-protos), render the same JSON.

This holds Chancery's encoder (libprotobuf-c, via proto/) to the upstream schema: a wrong field number or type would
decode differently here than in Chancery's own renderer.
"""
import base64
import json
import os
import re
import subprocess
import sys

import pytest
from google.protobuf import any_pb2, json_format, symbol_database

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import FIXTURES, chancery_bin  # noqa: E402

# Importing the modules registers every type Chancery emits with the default descriptor pool.
import envoy.config.cluster.v3.cluster_pb2  # noqa: F401,E402
import envoy.config.endpoint.v3.endpoint_pb2  # noqa: F401,E402
import envoy.config.listener.v3.listener_pb2  # noqa: F401,E402
import envoy.config.route.v3.route_pb2  # noqa: F401,E402
import envoy.extensions.filters.http.router.v3.router_pb2  # noqa: F401,E402
import envoy.extensions.filters.listener.proxy_protocol.v3.proxy_protocol_pb2  # noqa: F401,E402
import envoy.extensions.filters.listener.tls_inspector.v3.tls_inspector_pb2  # noqa: F401,E402
import envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2  # noqa: F401,E402
import envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2  # noqa: F401,E402
import envoy.extensions.transport_sockets.proxy_protocol.v3.upstream_proxy_protocol_pb2  # noqa: F401,E402
import envoy.extensions.transport_sockets.raw_buffer.v3.raw_buffer_pb2  # noqa: F401,E402
import envoy.extensions.transport_sockets.tls.v3.secret_pb2  # noqa: F401,E402
import envoy.extensions.transport_sockets.tls.v3.tls_pb2  # noqa: F401,E402
import envoy.extensions.upstreams.http.v3.http_protocol_options_pb2  # noqa: F401,E402

CASES = sorted(name for name in os.listdir(FIXTURES)
               if os.path.exists(os.path.join(FIXTURES, name, "routes.yaml"))
               and os.path.isdir(os.path.join(FIXTURES, name, "expected")))


def redact(value):
    """Mirror Chancery's redaction in golden files: TlsCertificate.private_key and basic auth's users."""
    if isinstance(value, dict):
        out = {}
        basic_auth = str(value.get("@type", "")).split(".")[-1] in ("BasicAuth", "BasicAuthPerRoute")
        for key, item in value.items():
            if (key == "privateKey" or (basic_auth and key == "users")) and isinstance(item, dict):
                out[key] = "[redacted]"
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def import_types_of(directory):
    """Imports the modules of every `@type` the golden files of a case hold (typed configs inside Anys), so the
    official classes can print them whatever other test modules happened to import first."""
    import importlib
    import pkgutil
    names = set()
    for root, _, files in os.walk(os.path.join(directory, "expected")):
        for name in files:
            with open(os.path.join(root, name)) as f:
                names.update(re.findall(r'"@type": "type.googleapis.com/([^"]+)"', f.read()))
    for name in sorted(names):
        package = importlib.import_module(name.rsplit(".", 1)[0])
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.endswith("_pb2"):
                importlib.import_module(f"{package.__name__}.{module.name}")


def raw_option(directory):
    """`--raw DIR` for a case with raw Envoy resources."""
    raw = os.path.join(directory, "raw")
    return ["--raw", raw] if os.path.isdir(raw) else []


def test_there_are_golden_cases():
    assert "example-site" in CASES


@pytest.mark.parametrize("case", CASES)
def test_official_decoding_matches_golden(case):
    directory = os.path.join(FIXTURES, case)
    import_types_of(directory)
    wire = json.loads(subprocess.run(
        [chancery_bin(), "render", "--config", os.path.join(directory, "routes.yaml"),
         "--certs", os.path.join(directory, "certs"), "--format", "wire", *raw_option(directory)],
        check=True, capture_output=True, text=True).stdout)
    assert wire, "no resources rendered"
    decoded = {}
    for entry in wire:
        packed = any_pb2.Any()
        packed.ParseFromString(base64.b64decode(entry["any"]))
        message_class = symbol_database.Default().GetSymbol(packed.TypeName())
        message = message_class()
        assert packed.Unpack(message)
        # The official classes re-encode the message to exactly Chancery's bytes.
        assert message.SerializeToString(deterministic=True) == packed.value, entry["name"]
        decoded.setdefault((entry["group"], entry["type"]), []).append(
            redact(json_format.MessageToDict(message)))
    for (group, kind), resources in decoded.items():
        with open(os.path.join(directory, "expected", group, f"{kind}.json")) as f:
            golden = json.load(f)
        assert resources == golden, f"{case}: {group}/{kind}"
