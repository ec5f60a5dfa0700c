/// The xDS types a load-test proxy subscribes to, in the order Envoy asks for them over ADS.
enum XDSType: Int, CaseIterable, Sendable {
    case cluster = 0, endpoint, listener, route

    var typeURL: String {
        switch self {
        case .cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster"
        case .endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
        case .listener: "type.googleapis.com/envoy.config.listener.v3.Listener"
        case .route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
        }
    }

    init?(typeURL: some Collection<UInt8>) {
        guard let found = Self.allCases.first(where: { $0.typeURL.utf8.elementsEqual(typeURL) }) else { return nil }
        self = found
    }

    var bit: Int { 1 << rawValue }
    static let allBits = 0b1111
}

/// What the proxy needs from a response: enough to ACK it and to follow the names it announces.
struct DecodedResponse {
    var type: XDSType?
    var version: [UInt8] = []
    var nonce: [UInt8] = []
    /// Names of the resources carried (field 1 of Cluster, Listener, ClusterLoadAssignment, RouteConfiguration).
    var names: [String] = []
    var resourceCount = 0
}

struct WireError: Error, CustomStringConvertible {
    var description: String
}

/// Hand-written protobuf for the few fields a load-test proxy reads and writes, so the client costs little next to
/// the server it measures. Responses are walked field by field; resource bodies are skipped except for field 1.
enum Wire {
    /// DiscoveryResponse (SotW) or DeltaDiscoveryResponse, decoded on the fast path.
    static func decode(_ bytes: [UInt8], delta: Bool) throws -> DecodedResponse {
        var response = DecodedResponse()
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer: buffer[...])
            while let (field, value) = try reader.nextLengthDelimited() {
                switch (delta, field) {
                case (false, 1), (true, 1): response.version = Array(value)
                case (_, 4): response.type = XDSType(typeURL: value)
                case (_, 5): response.nonce = Array(value)
                case (false, 2):
                    response.resourceCount += 1
                    // Any { type_url = 1; value = 2 } → the message's field 1.
                    var any = Reader(buffer: value)
                    while let (anyField, body) = try any.nextLengthDelimited() {
                        if anyField == 2, let name = try firstString(body) { response.names.append(name) }
                    }
                case (true, 2):
                    response.resourceCount += 1
                    // Resource { version = 1; resource = 2; name = 3 }
                    var resource = Reader(buffer: value)
                    while let (resourceField, body) = try resource.nextLengthDelimited() {
                        if resourceField == 3 { response.names.append(String(decoding: body, as: UTF8.self)) }
                    }
                default: break
                }
            }
        }
        return response
    }

    private static func firstString(_ message: Slice<UnsafeBufferPointer<UInt8>>) throws -> String? {
        var reader = Reader(buffer: message)
        while let (field, value) = try reader.nextLengthDelimited() {
            if field == 1 { return String(decoding: value, as: UTF8.self) }
        }
        return nil
    }

    /// A SotW DiscoveryRequest: the initial one (with the node), a subscription change, or an ACK.
    static func request(
        _ type: XDSType, names: [String], version: [UInt8] = [], nonce: [UInt8] = [], node: String? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        if !version.isEmpty { field(1, version, into: &out) }
        if let node { field(2, nodeMessage(node), into: &out) }
        for name in names { field(3, Array(name.utf8), into: &out) }
        field(4, Array(type.typeURL.utf8), into: &out)
        if !nonce.isEmpty { field(5, nonce, into: &out) }
        return out
    }

    /// A DeltaDiscoveryRequest: subscribe/unsubscribe names, or ACK a nonce.
    static func deltaRequest(
        _ type: XDSType, subscribe: [String] = [], unsubscribe: [String] = [], nonce: [UInt8] = [],
        node: String? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        if let node { field(1, nodeMessage(node), into: &out) }
        field(2, Array(type.typeURL.utf8), into: &out)
        for name in subscribe { field(3, Array(name.utf8), into: &out) }
        for name in unsubscribe { field(4, Array(name.utf8), into: &out) }
        if !nonce.isEmpty { field(6, nonce, into: &out) }
        return out
    }

    /// Node { id = 1; cluster = 2 }; cluster "default" selects the default node group.
    private static func nodeMessage(_ id: String) -> [UInt8] {
        var node: [UInt8] = []
        field(1, Array(id.utf8), into: &node)
        field(2, Array("default".utf8), into: &node)
        return node
    }

    static func field(_ number: Int, _ value: [UInt8], into out: inout [UInt8]) {
        varint(UInt64(number << 3 | 2), into: &out)
        varint(UInt64(value.count), into: &out)
        out += value
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}

/// Walks the top level of one protobuf message, yielding length-delimited fields and skipping the rest.
struct Reader {
    var buffer: Slice<UnsafeBufferPointer<UInt8>>

    mutating func nextLengthDelimited() throws -> (Int, Slice<UnsafeBufferPointer<UInt8>>)? {
        while !buffer.isEmpty {
            let tag = try varint()
            switch tag & 7 {
            case 0: _ = try varint()
            case 1: try skip(8)
            case 5: try skip(4)
            case 2:
                let length = Int(try varint())
                guard length <= buffer.count else { throw WireError(description: "truncated field") }
                let start = buffer.startIndex
                buffer = buffer[(start + length)...]
                return (Int(tag >> 3), buffer.base[start..<start + length])
            default: throw WireError(description: "unsupported wire type \(tag & 7)")
            }
        }
        return nil
    }

    private mutating func skip(_ count: Int) throws {
        guard count <= buffer.count else { throw WireError(description: "truncated field") }
        buffer = buffer.dropFirst(count)
    }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = buffer.first {
            buffer = buffer.dropFirst()
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { break }
        }
        throw WireError(description: "truncated varint")
    }
}
