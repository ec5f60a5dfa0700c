import Protobuf
import Snapshot

/// Assembles responses from already-encoded resources: a push to many proxies copies bytes, it never re-encodes.
enum ResponseEncoder {
    /// `DiscoveryResponse`: version_info=1, resources=2, type_url=4, nonce=5, control_plane=6.
    static func sotw(_ response: SotWStream.Response, controlPlane: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(response.resources.reduce(64 + controlPlane.count) { $0 + $1.anyBytes.count + 6 })
        ProtoWire.appendString(field: 1, response.version, to: &out)
        for resource in response.resources {
            ProtoWire.appendLengthDelimited(field: 2, resource.anyBytes, to: &out)
        }
        ProtoWire.appendString(field: 4, response.type.typeURL, to: &out)
        ProtoWire.appendString(field: 5, response.nonce, to: &out)
        ProtoWire.appendLengthDelimited(field: 6, controlPlane, to: &out)
        return out
    }

    /// `core.v3.ControlPlane{identifier=1}`, encoded once per server.
    static func controlPlane(identifier: String) -> [UInt8] {
        var out: [UInt8] = []
        ProtoWire.appendString(field: 1, identifier, to: &out)
        return out
    }
}

extension ResponseEncoder {
    /// `DeltaDiscoveryResponse`: system_version_info=1, resources=2 (`Resource{version=1, resource=2, name=3}`),
    /// type_url=4, nonce=5, removed_resources=6, control_plane=7.
    static func delta(_ response: DeltaStream.Response, controlPlane: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(
            response.resources.reduce(64 + controlPlane.count) { $0 + $1.anyBytes.count + $1.name.utf8.count + 48 })
        ProtoWire.appendString(field: 1, response.systemVersion, to: &out)
        var wrapper: [UInt8] = []
        for resource in response.resources {
            wrapper.removeAll(keepingCapacity: true)
            ProtoWire.appendString(field: 1, resource.version, to: &wrapper)
            ProtoWire.appendLengthDelimited(field: 2, resource.anyBytes, to: &wrapper)
            ProtoWire.appendString(field: 3, resource.name, to: &wrapper)
            ProtoWire.appendLengthDelimited(field: 2, wrapper, to: &out)
        }
        ProtoWire.appendString(field: 4, response.type.typeURL, to: &out)
        ProtoWire.appendString(field: 5, response.nonce, to: &out)
        for name in response.removed {
            ProtoWire.appendString(field: 6, name, to: &out)
        }
        ProtoWire.appendLengthDelimited(field: 7, controlPlane, to: &out)
        return out
    }
}
