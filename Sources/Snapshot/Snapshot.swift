import Dispatch
import Foundation
import Protobuf
import Synchronization
import Vocabulary

/// All resources of one type for one node group.
public struct TypeSnapshot: Hashable, Sendable {
    public let type: ResourceType
    public let resources: [String: EncodedResource]
    /// Hash of every (name, version) pair: changes exactly when any resource of the type changes.
    public let version: String

    /// Every resource, sorted by name once here rather than by each stream on each push.
    public let sorted: [EncodedResource]
    /// What `sorted` takes in a response: each resource's bytes plus 8 for its field tag and length, the measure
    /// a SotW response is split by. Known here, a stream sending every resource need not add them up.
    public let sortedBytes: Int
    /// Hash of the names alone: changes only when a resource is added or removed, so a stream that once found its
    /// subscription covers every name need not check again until this changes.
    public let namesVersion: String

    /// What delta streams share instead of working it out each: set when the snapshot is published
    /// (`Snapshot.linked(after:)`), nil on a snapshot that was only built.
    public let share: TypeShare?

    public init(type: ResourceType, resources: [String: EncodedResource]) {
        self.type = type
        self.resources = resources
        self.sorted = resources.values.sorted { $0.name < $1.name }
        self.sortedBytes = sorted.reduce(0) { $0 + $1.anyBytes.count + 8 }
        self.version = ContentHash.of(versions: sorted.map { ($0.name, $0.version) })
        self.namesVersion = ContentHash.of(versions: sorted.map { ($0.name, "") })
        self.share = nil
    }

    /// The same type with `share` attached.
    init(_ other: TypeSnapshot, share: TypeShare) {
        self.type = other.type
        self.resources = other.resources
        self.sorted = other.sorted
        self.sortedBytes = other.sortedBytes
        self.version = other.version
        self.namesVersion = other.namesVersion
        self.share = share
    }

    public var sortedNames: [String] { sorted.map(\.name) }

    /// Equal when the resources are: what was shared alongside them does not count.
    public static func == (lhs: TypeSnapshot, rhs: TypeSnapshot) -> Bool {
        lhs.type == rhs.type && lhs.version == rhs.version && lhs.resources == rhs.resources
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(version)
    }
}

/// What one node group's proxies are served, for one config-source mode.
public struct GroupSnapshot: Hashable, Sendable {
    public let group: String
    public let mode: ConfigSourceMode
    public let types: [ResourceType: TypeSnapshot]
    public let version: String

    public init(group: String, mode: ConfigSourceMode, types: [ResourceType: TypeSnapshot]) {
        self.group = group
        self.mode = mode
        var complete = types
        for type in ResourceType.allCases where complete[type] == nil {
            complete[type] = TypeSnapshot(type: type, resources: [:])
        }
        self.types = complete
        self.version = ContentHash.of(versions: complete.values.map { ($0.type.rawValue, $0.version) })
    }

    /// The same group with other type snapshots of the same content (`linked(after:)`).
    init(_ other: GroupSnapshot, types: [ResourceType: TypeSnapshot]) {
        self.group = other.group
        self.mode = other.mode
        self.types = types
        self.version = other.version
    }

    public subscript(type: ResourceType) -> TypeSnapshot {
        types[type] ?? TypeSnapshot(type: type, resources: [:])
    }
}

/// An immutable, consistent set of encoded resources for every node group and mode.
public struct Snapshot: Hashable, Sendable {
    public let groups: [GroupKey: GroupSnapshot]
    /// Who may take each group that lists `identities:` in the routes file, when proxies authenticate with client
    /// certificates (the XDS server checks it when a stream starts). Not sent to any proxy.
    public let identities: [String: [IdentityPattern]]
    /// Hash over every group: the same input gives the same version on every restart and replica.
    public let version: String

    public init(groups: [GroupKey: GroupSnapshot], identities: [String: [IdentityPattern]] = [:]) {
        self.groups = groups
        self.identities = identities
        // Identities count only when declared, so files without them keep the versions they always had.
        let entitlement = identities.map { ("identities/\($0.key)", $0.value.map(\.text).joined(separator: "\n")) }
        self.version = ContentHash.of(
            versions: groups.map { ("\($0.key.group)/\($0.key.mode.rawValue)", $0.value.version) } + entitlement)
    }

    /// The same resources with the routes file's group identities attached.
    public func with(identities: [String: [IdentityPattern]]) -> Snapshot {
        Snapshot(groups: groups, identities: identities)
    }

    public static let empty = Snapshot(groups: [:])

    public var groupNames: [String] { Array(Set(groups.keys.map(\.group))).sorted() }

    public func group(_ name: String, mode: ConfigSourceMode) -> GroupSnapshot? {
        groups[GroupKey(group: name, mode: mode)]
    }

    /// Encodes translated resources (per mode, per group, per type, by name) and checks that every reference
    /// resolves before anything is published.
    public static func build(_ translated: [ConfigSourceMode: [String: [ResourceType: [String: ProtoMessage]]]])
        throws(SnapshotError) -> Snapshot
    {
        // The same resource in several groups or modes (a shared cluster, a secret, a raw resource sent to every
        // group) is encoded once and its bytes shared, so the cost follows the distinct resources, not the groups.
        // First the distinct resources, each with where it first appears (for an error); then every one of them
        // encoded, spread over the cores; then the groups put together from the results.
        var distinct: [(key: EncodingKey, group: String)] = []
        var position: [EncodingKey: Int] = [:]
        var layout: [(mode: ConfigSourceMode, group: String, types: [(ResourceType, [(String, Int)])])] = []
        for (mode, byGroup) in translated {
            for (name, resources) in byGroup {
                var types: [(ResourceType, [(String, Int)])] = []
                for (type, messages) in resources {
                    var slots: [(String, Int)] = []
                    slots.reserveCapacity(messages.count)
                    for (resourceName, message) in messages {
                        let key = EncodingKey(type: type, name: resourceName, message: message)
                        if let found = position[key] {
                            slots.append((resourceName, found))
                        } else {
                            position[key] = distinct.count
                            slots.append((resourceName, distinct.count))
                            distinct.append((key, name))
                        }
                    }
                    types.append((type, slots))
                }
                layout.append((mode, name, types))
            }
        }
        let encoded = try encodeAll(distinct)
        var groups: [GroupKey: GroupSnapshot] = [:]
        for (mode, name, types) in layout {
            var typeSnapshots: [ResourceType: TypeSnapshot] = [:]
            for (type, slots) in types {
                var resources: [String: EncodedResource] = [:]
                resources.reserveCapacity(slots.count)
                for (resourceName, slot) in slots { resources[resourceName] = encoded[slot] }
                typeSnapshots[type] = TypeSnapshot(type: type, resources: resources)
            }
            let group = GroupSnapshot(group: name, mode: mode, types: typeSnapshots)
            try Consistency.check(group)
            groups[GroupKey(group: name, mode: mode)] = group
        }
        return Snapshot(groups: groups)
    }

    /// Every resource encoded, in order, on as many threads as there are cores: a reload is waited for, and
    /// encoding (with the reference walk) was most of the time after reading the file. The first failure in
    /// `distinct` order is the one reported, whichever thread met it.
    private static func encodeAll(_ distinct: [(key: EncodingKey, group: String)]) throws(SnapshotError)
        -> [EncodedResource]
    {
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, distinct.count / 64))
        let done = Mutex([[(Int, Result<EncodedResource, SnapshotError>)]]())
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            // Every `lanes`-th resource, so one large one (a route configuration) does not leave a lane idle.
            var results: [(Int, Result<EncodedResource, SnapshotError>)] = []
            for index in stride(from: lane, to: distinct.count, by: lanes) {
                let (key, group) = distinct[index]
                do {
                    results.append(
                        (index, .success(try EncodedResource(type: key.type, name: key.name, message: key.message))))
                } catch {
                    results.append(
                        (index, .failure(.encoding(group: group, type: key.type, name: key.name, reason: "\(error)"))))
                }
            }
            done.withLock { $0.append(results) }
        }
        var slots = [EncodedResource?](repeating: nil, count: distinct.count)
        var firstFailure: (Int, SnapshotError)?
        for (index, result) in done.withLock({ $0 }).joined() {
            switch result {
            case .success(let resource):
                slots[index] = resource
            case .failure(let error):
                if firstFailure.map({ index < $0.0 }) ?? true { firstFailure = (index, error) }
            }
        }
        if let (_, error) = firstFailure { throw error }
        return slots.map { $0! }
    }
}

/// What makes two resources the same encoding: type, name and message.
///
/// Only type and name are hashed. Hashing a whole message tree costs more than encoding it (every nested field map
/// is hashed element by element), while the few keys that share a type and name (one per mode or group at most)
/// are told apart by `==`, which stops at the first difference.
private struct EncodingKey: Hashable {
    let type: ResourceType
    let name: String
    let message: ProtoMessage

    func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(name)
    }
}

public enum SnapshotError: Error, Hashable, Sendable, CustomStringConvertible {
    case encoding(group: String, type: ResourceType, name: String, reason: String)
    case dangling(group: String, fromType: ResourceType, fromName: String, type: ResourceType, name: String)

    public var description: String {
        switch self {
        case .encoding(let group, let type, let name, let reason):
            return "group \(group): cannot encode \(type.rawValue) \"\(name)\": \(reason)"
        case .dangling(let group, let fromType, let fromName, let type, let name):
            return
                "group \(group): \(fromType.rawValue) \"\(fromName)\" references \(type.rawValue) \"\(name)\", which the snapshot does not hold"
        }
    }
}
