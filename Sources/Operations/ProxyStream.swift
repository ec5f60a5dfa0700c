import Foundation
import Vocabulary

/// One xDS stream as the operator views (`chancery status`, the admin web page) see it: the fields of a `/clients`
/// entry they need, whether read from that JSON or from the admin's own stream summary, so both views agree.
public struct ProxyStream: Hashable, Sendable {
    /// What one resource type of the stream was sent, ACKed and rejected.
    public struct TypeState: Hashable, Sendable {
        public var sentVersion: String?
        public var ackedVersion: String?
        public var nackedVersion: String?
        public var nackMessage: String?
        /// When `sentVersion` was first sent on this stream (absent from older servers).
        public var sentAt: Date?

        public init(
            sentVersion: String? = nil, ackedVersion: String? = nil, nackedVersion: String? = nil,
            nackMessage: String? = nil, sentAt: Date? = nil
        ) {
            self.sentVersion = sentVersion
            self.ackedVersion = ackedVersion
            self.nackedVersion = nackedVersion
            self.nackMessage = nackMessage
            self.sentAt = sentAt
        }
    }

    public var nodeID: String
    public var group: String
    public var kind: String
    public var peer: String
    public var types: [ResourceType: TypeState]

    public init(nodeID: String, group: String, kind: String, peer: String, types: [ResourceType: TypeState]) {
        self.nodeID = nodeID
        self.group = group
        self.kind = kind
        self.peer = peer
        self.types = types
    }
}

/// Why a `/clients` reply could not be read.
public struct ClientsFormatError: Error, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ProxyStream {
    /// Every stream of one `/clients` page (a JSON array). Unknown resource types and keys are ignored, so a newer
    /// server still reads; a reply that is not an array of objects with a node id is an error.
    public static func decodePage(_ data: Data) throws(ClientsFormatError) -> [ProxyStream] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ClientsFormatError("/clients did not answer JSON: \(error.localizedDescription)")
        }
        guard let array = parsed as? [Any] else { throw ClientsFormatError("/clients did not answer a JSON array") }
        let dates = ISO8601DateFormatter()
        var streams: [ProxyStream] = []
        streams.reserveCapacity(array.count)
        for item in array {
            guard let object = item as? [String: Any], let node = object["node_id"] as? String else {
                throw ClientsFormatError("/clients: an entry has no node_id")
            }
            var types: [ResourceType: TypeState] = [:]
            for (name, value) in object["types"] as? [String: Any] ?? [:] {
                guard let type = ResourceType(rawValue: name), let entry = value as? [String: Any] else { continue }
                let nack = entry["last_nack"] as? [String: Any]
                types[type] = TypeState(
                    sentVersion: entry["sent_version"] as? String, ackedVersion: entry["acked_version"] as? String,
                    nackedVersion: nack?["version"] as? String, nackMessage: nack?["message"] as? String,
                    sentAt: (entry["sent_at"] as? String).flatMap { dates.date(from: $0) })
            }
            streams.append(
                ProxyStream(
                    nodeID: node, group: object["group"] as? String ?? "", kind: object["kind"] as? String ?? "",
                    peer: object["peer"] as? String ?? "", types: types))
        }
        return streams
    }

    /// The next page's path from a `/clients` `link` header (`</clients?…>; rel="next"`), nil when there is none.
    public static func nextPage(link: String?) -> String? {
        guard let link else { return nil }
        for part in link.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">"),
                fields.dropFirst().contains(where: { $0 == "rel=\"next\"" || $0 == "rel=next" })
            else { continue }
            return String(target.dropFirst().dropLast())
        }
        return nil
    }
}
