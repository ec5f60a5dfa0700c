import Crypto
import Protobuf
import Vocabulary

/// One resource, encoded once and shared by every stream that sends it.
///
/// The fields live in one shared box: a push walks and copies resources by the thousand (every stream's changes,
/// every response's list), and a copy is then one reference count instead of one per string, array and message
/// (six), all of them on objects every event-loop thread touches.
public struct EncodedResource: Hashable, Sendable {
    private final class Storage: Sendable {
        let type: ResourceType
        let name: String
        let version: String
        let anyBytes: [UInt8]
        let message: ProtoMessage
        let references: [Consistency.Reference]

        init(
            type: ResourceType, name: String, version: String, anyBytes: [UInt8], message: ProtoMessage,
            references: [Consistency.Reference]
        ) {
            self.type = type
            self.name = name
            self.version = version
            self.anyBytes = anyBytes
            self.message = message
            self.references = references
        }
    }

    private let storage: Storage

    public var type: ResourceType { storage.type }
    public var name: String { storage.name }
    /// The content hash of the resource: equal bytes, equal version, on every restart and every replica.
    public var version: String { storage.version }
    /// The resource as a serialized `google.protobuf.Any`, ready to be copied into a response.
    public var anyBytes: [UInt8] { storage.anyBytes }
    /// The resource message itself, for rendering (admin, golden files).
    public var message: ProtoMessage { storage.message }
    /// The routes, clusters, endpoints and secrets it names, collected once for the consistency check.
    var references: [Consistency.Reference] { storage.references }

    public init(type: ResourceType, name: String, message: ProtoMessage) throws {
        let value = try ProtoCodec.encode(message)
        // The Any's two fields written directly, as protobuf-c would pack them (an empty `value` left out), rather
        // than building and packing a second message around a copy of the bytes.
        var any: [UInt8] = []
        any.reserveCapacity(type.typeURL.utf8.count + value.count + 16)
        ProtoWire.appendString(field: 1, type.typeURL, to: &any)
        if !value.isEmpty { ProtoWire.appendLengthDelimited(field: 2, value, to: &any) }
        storage = Storage(
            type: type, name: name, version: ContentHash.of(any), anyBytes: any, message: message,
            references: Consistency.references(type, message))
    }

    /// Equal when every field is: the same box is, and two boxes are compared field by field.
    public static func == (lhs: EncodedResource, rhs: EncodedResource) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let a = lhs.storage
        let b = rhs.storage
        return a.type == b.type && a.name == b.name && a.version == b.version && a.anyBytes == b.anyBytes
            && a.message == b.message && a.references == b.references
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.type)
        hasher.combine(storage.name)
        hasher.combine(storage.version)
        hasher.combine(storage.anyBytes)
        hasher.combine(storage.message)
        hasher.combine(storage.references)
    }
}

/// A resource prints as its type, name and version only: a Secret's bytes hold a private key, and no description,
/// `dump` or string interpolation of a snapshot may carry it into a log.
extension EncodedResource: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "\(type.rawValue) \"\(name)\" @\(version)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["type": type, "name": name, "version": version], displayStyle: .struct)
    }
}

/// Content hashes for versions: the first 16 hex digits of SHA-256.
public enum ContentHash {
    public static func of(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes)).prefix(16).description
    }

    /// The hash of a set of named versions, independent of the order they are given in.
    public static func of(versions: [(name: String, version: String)]) -> String {
        var bytes: [UInt8] = []
        for entry in versions.sorted(by: { $0.name < $1.name }) {
            bytes.append(contentsOf: Array(entry.name.utf8))
            bytes.append(0)
            bytes.append(contentsOf: Array(entry.version.utf8))
            bytes.append(0)
        }
        return of(bytes)
    }

    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
