"""Writes real DiscoveryRequest / DeltaDiscoveryRequest encodings (python protos from .venv) as seeds:
    .venv/bin/python Fuzz/seed-tools/discovery_requests.py Fuzz/corpus/FuzzDiscoveryRequest"""
import os, sys
from envoy.service.discovery.v3 import discovery_pb2 as d
from envoy.config.core.v3 import base_pb2
from google.rpc import status_pb2
from google.protobuf import struct_pb2
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def node():
    n = base_pb2.Node(id="edge-1", cluster="edge", user_agent_name="envoy", client_features=["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"])
    n.user_agent_build_version.version.major_number = 1
    n.user_agent_build_version.version.minor_number = 40
    n.metadata.fields["group"].string_value = "edge"
    n.metadata.fields["n"].number_value = 3
    return n
seeds = {}
L = "type.googleapis.com/envoy.config.listener.v3.Listener"
C = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
R = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
S = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
seeds["sotw-initial-lds"] = d.DiscoveryRequest(node=node(), type_url=L)
seeds["sotw-ack-cds"] = d.DiscoveryRequest(version_info="v3", type_url=C, response_nonce="7")
seeds["sotw-rds-names"] = d.DiscoveryRequest(version_info="v2", type_url=R, resource_names=["edge-https", "edge-http"], response_nonce="3")
seeds["sotw-nack"] = d.DiscoveryRequest(version_info="v1", type_url=S, resource_names=["example.test"], response_nonce="4",
    error_detail=status_pb2.Status(code=3, message="Proto constraint validation failed"))
lv = struct_pb2.Value()
lv.list_value.values.add().struct_value.fields["a"].list_value.values.add().string_value = "deep"
n = node(); n.metadata.fields["nested"].CopyFrom(lv)
seeds["sotw-nested-metadata"] = d.DiscoveryRequest(node=n, type_url=L)
seeds["delta-initial"] = d.DeltaDiscoveryRequest(node=node(), type_url=C, resource_names_subscribe=["*"])
seeds["delta-subscribe"] = d.DeltaDiscoveryRequest(type_url=R, resource_names_subscribe=["edge-https"], resource_names_unsubscribe=["old"], response_nonce="5")
seeds["delta-reconnect"] = d.DeltaDiscoveryRequest(node=node(), type_url=L, initial_resource_versions={"edge-https": "abc", "edge-http": "def"})
seeds["delta-nack"] = d.DeltaDiscoveryRequest(type_url=S, response_nonce="9", error_detail=status_pb2.Status(code=13, message="bad secret"))
for name, message in seeds.items():
    open(os.path.join(out, name), "wb").write(message.SerializeToString())
# The NestingScan regression: a field 2 holding a field 1 that claims 5 bytes past its end.
open(os.path.join(out, "crash-nestingscan-12010a05"), "wb").write(bytes([0x12, 0x01, 0x0a, 0x05]))
