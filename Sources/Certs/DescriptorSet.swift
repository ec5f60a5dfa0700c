import Crypto
import Foundation

/// A protobuf descriptor set in `DIR/NAME/descriptors.pb` (`protoc --include_imports --descriptor_set_out`), for
/// gRPC-JSON transcoding. Read and kept as bytes here; which services it holds is checked where protobuf is decoded.
public struct DescriptorSet: Hashable, Sendable {
    public static let fileName = "descriptors.pb"
    /// Descriptor sets of whole API surfaces stay well under this.
    public static let maximumFileSize = 8 << 20

    public let name: String
    public let bytes: [UInt8]
    /// SHA-256 of the bytes, lowercase hex.
    public let contentDigest: String

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
        self.contentDigest = CertificateDirectory.hex(SHA256.hash(data: bytes))
    }

    /// Reads `directory/descriptors.pb` (regular file or a link to one, size-capped); nil when there is none.
    static func load(name: String, directory: String) -> Result<DescriptorSet, CertificateError>? {
        CertificateDirectory.readOptional(
            fileName, in: directory, limit: maximumFileSize, emptyError: { .unreadableFile($0, "file is empty") },
            parse: { _, bytes in .success(DescriptorSet(name: name, bytes: bytes)) })
    }
}
