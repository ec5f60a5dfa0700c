import NIOCore
import Protobuf
import Snapshot
import Vocabulary

/// Assembles responses from already-encoded resources: a push to many proxies never re-encodes a resource, and the
/// body every proxy of a group receives alike is built once and shared (`ResponseCache`).
///
/// A response is split in two: the per-stream head (the nonce field) and the body (every other field). Protobuf
/// fields may come in any order, so the head goes first and the body's bytes are the same for every stream; the
/// transport queues the body's storage itself, never a copy (`GRPCServerStream.send(head:body:)`).
enum ResponseEncoder {
    /// The nonce as a string field: what differs between two streams sent the same response.
    static func head(nonce: String, field: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(nonce.utf8.count + 2)
        ProtoWire.appendString(field: field, nonce, to: &out)
        return out
    }

    /// `DiscoveryResponse` without its nonce: version_info=1, resources=2, type_url=4, control_plane=6 (nonce=5 is
    /// the head).
    static func sotwBody(_ response: SotWStream.Response, controlPlane: [UInt8]) -> ByteBuffer {
        let size = response.resources.reduce(64 + controlPlane.count) { $0 + $1.anyBytes.count + 6 }
        var out = ByteBufferAllocator().buffer(capacity: size)
        out.writeField(1, response.version.utf8)
        for resource in response.resources {
            out.writeField(2, resource.anyBytes)
        }
        out.writeField(4, response.type.typeURL.utf8)
        out.writeField(6, controlPlane)
        return out
    }

    /// `DeltaDiscoveryResponse` without its nonce: system_version_info=1, resources=2 (`Resource{version=1,
    /// resource=2, name=3}`), type_url=4, removed_resources=6, control_plane=7 (nonce=5 is the head).
    static func deltaBody(_ response: DeltaStream.Response, controlPlane: [UInt8]) -> ByteBuffer {
        let size = response.resources.reduce(64 + controlPlane.count) {
            $0 + $1.anyBytes.count + $1.name.utf8.count + 48
        }
        var out = ByteBufferAllocator().buffer(capacity: size)
        out.writeField(1, response.systemVersion.utf8)
        for resource in response.resources {
            let version = resource.version.utf8.count, name = resource.name.utf8.count
            let length = fieldSize(version) + fieldSize(resource.anyBytes.count) + fieldSize(name)
            out.writeVarint(2 << 3 | 2)
            out.writeVarint(UInt64(length))
            out.writeField(1, resource.version.utf8)
            out.writeField(2, resource.anyBytes)
            out.writeField(3, resource.name.utf8)
        }
        out.writeField(4, response.type.typeURL.utf8)
        for name in response.removed {
            out.writeField(6, name.utf8)
        }
        out.writeField(7, controlPlane)
        return out
    }

    /// `core.v3.ControlPlane{identifier=1}`, encoded once per server.
    static func controlPlane(identifier: String) -> [UInt8] {
        var out: [UInt8] = []
        ProtoWire.appendString(field: 1, identifier, to: &out)
        return out
    }

    /// Bytes a length-delimited field with a `length`-byte payload takes (one-byte tag).
    private static func fieldSize(_ length: Int) -> Int {
        1 + varintSize(UInt64(length)) + length
    }

    private static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var value = value >> 7
        while value != 0 {
            size += 1
            value >>= 7
        }
        return size
    }
}

extension ByteBuffer {
    /// Writes `value` as a base-128 varint.
    fileprivate mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeInteger(UInt8(value))
    }

    /// Writes a length-delimited field (field numbers below 16, so the tag is one byte).
    fileprivate mutating func writeField(_ field: UInt64, _ bytes: some Collection<UInt8>) {
        writeVarint(field << 3 | 2)
        writeVarint(UInt64(bytes.count))
        writeBytes(bytes)
    }
}
