import Crypto
import Protobuf
import Vocabulary

/// One resource, encoded once and shared by every stream that sends it.
///
/// Name and version are kept in the value, where a walk over a type's resources reads them without a trip to the
/// heap; the rest lives in one shared box. A push walks and copies resources by the thousand (every stream's changes,
/// every response's list), and a copy then costs two or three reference counts instead of six, on objects every
/// event-loop thread touches.
public struct EncodedResource: Hashable, Sendable {
    private final class Storage: Sendable {
        let type: ResourceType
        let anyBytes: [UInt8]
        let message: ProtoMessage
        let references: [Consistency.Reference]

        init(type: ResourceType, anyBytes: [UInt8], message: ProtoMessage, references: [Consistency.Reference]) {
            self.type = type
            self.anyBytes = anyBytes
            self.message = message
            self.references = references
        }
    }

    public let name: String
    /// The content hash of the resource: equal bytes, equal version, on every restart and every replica.
    public let version: String
    private let storage: Storage

    public var type: ResourceType { storage.type }
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
        self.name = name
        self.version = ContentHash.of(any)
        storage = Storage(
            type: type, anyBytes: any, message: message, references: Consistency.references(type, message))
    }

    /// Equal when every field is: the same box is, and two boxes are compared field by field.
    public static func == (lhs: EncodedResource, rhs: EncodedResource) -> Bool {
        guard lhs.name == rhs.name && lhs.version == rhs.version else { return false }
        if lhs.storage === rhs.storage { return true }
        let a = lhs.storage
        let b = rhs.storage
        return a.type == b.type && a.anyBytes == b.anyBytes && a.message == b.message && a.references == b.references
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.type)
        hasher.combine(name)
        hasher.combine(version)
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
