import Vocabulary

/// What every delta stream of a group would otherwise work out for itself on each publish, worked out once.
///
/// A delta proxy that held every resource of a type and now wants every resource of the new version is sent the
/// same changes as every other such proxy, and ends up holding the same versions. Walking a type of 1,000 clusters
/// per stream to find them made a whole-snapshot change cost 2.75 s of CPU at 1,000 delta proxies.
public final class TypeShare: Sendable {
    /// Every resource's version by name: what a proxy holding all of the type holds. Streams keep this one copy.
    public let versions: [String: String]
    /// Bytes of every name and version in `versions`, which the subscription budget charges for.
    public let versionBytes: Int
    /// What changed since the snapshot published before, when this type was different there.
    public let changes: TypeChanges?

    init(versions: [String: String], versionBytes: Int, changes: TypeChanges?) {
        self.versions = versions
        self.versionBytes = versionBytes
        self.changes = changes
    }

    convenience init(_ typeSnapshot: TypeSnapshot, changes: TypeChanges?) {
        var versions: [String: String] = [:]
        versions.reserveCapacity(typeSnapshot.sorted.count)
        var bytes = 0
        for resource in typeSnapshot.sorted {
            versions[resource.name] = resource.version
            bytes += resource.name.utf8.count + resource.version.utf8.count
        }
        self.init(versions: versions, versionBytes: bytes, changes: changes)
    }
}

/// One type's changes between two published snapshots, each list in name order.
public struct TypeChanges: Sendable {
    /// The type version the changes lead from.
    public let from: String
    /// Resources and bytes of names and versions held by a proxy that held all of `from`.
    public let fromCount: Int
    public let fromBytes: Int
    /// New or changed resources.
    public let changed: [EncodedResource]
    /// Names the older version had and this one has not.
    public let removed: [String]
    /// Names this version has and the older had not (also in `changed`): a proxy that subscribes by name must
    /// want each of them to be served the shared changes.
    public let added: [String]
    /// Clusters only (ADS, rule 31): the endpoints of the changed clusters, which warm only once their endpoints
    /// arrive again.
    public internal(set) var warming: [EncodedResource] = []
    /// Endpoints only: `changed` together with the clusters' `warming`, for a stream that sends both at once.
    public internal(set) var changedWithWarming: [EncodedResource] = []

    init(from older: TypeSnapshot, to newer: TypeSnapshot) {
        var changed: [EncodedResource] = []
        var added: [String] = []
        for resource in newer.sorted {
            switch older.resources[resource.name]?.version {
            case nil:
                changed.append(resource)
                added.append(resource.name)
            case let version? where version != resource.version:
                changed.append(resource)
            default:
                break
            }
        }
        from = older.version
        fromCount = older.resources.count
        fromBytes = older.sorted.reduce(0) { $0 + $1.name.utf8.count + $1.version.utf8.count }
        self.changed = changed
        self.added = added
        removed = older.sorted.lazy.map(\.name).filter { newer.resources[$0] == nil }
    }
}

extension GroupSnapshot {
    /// This group as published after `previous`: each type carries its versions, and what changed since
    /// `previous` where its version differs. A type that did not change keeps `previous`' versions.
    public func linked(after previous: GroupSnapshot?) -> GroupSnapshot {
        var changes: [ResourceType: TypeChanges] = [:]
        for (type, typeSnapshot) in types {
            if let before = previous?.types[type], before.version != typeSnapshot.version {
                changes[type] = TypeChanges(from: before, to: typeSnapshot)
            }
        }
        if var clusters = changes[.cluster] {
            let endpoints = self[.endpoint].resources
            clusters.warming = clusters.changed.compactMap { endpoints[$0.name] }
            changes[.cluster] = clusters
            if var endpointChanges = changes[.endpoint] {
                endpointChanges.changedWithWarming = Self.merged(endpointChanges.changed, clusters.warming)
                changes[.endpoint] = endpointChanges
            }
        }
        var linked: [ResourceType: TypeSnapshot] = [:]
        for (type, typeSnapshot) in types {
            if let kept = previous?.types[type], kept.version == typeSnapshot.version, let share = kept.share {
                linked[type] = TypeSnapshot(
                    typeSnapshot,
                    share: TypeShare(versions: share.versions, versionBytes: share.versionBytes, changes: nil))
            } else {
                linked[type] = TypeSnapshot(typeSnapshot, share: TypeShare(typeSnapshot, changes: changes[type]))
            }
        }
        return GroupSnapshot(self, types: linked)
    }

    /// Two lists in name order as one, each name once.
    static func merged(_ a: [EncodedResource], _ b: [EncodedResource]) -> [EncodedResource] {
        var out: [EncodedResource] = []
        out.reserveCapacity(a.count + b.count)
        var i = a.startIndex
        var j = b.startIndex
        while i < a.endIndex || j < b.endIndex {
            if j == b.endIndex || (i < a.endIndex && a[i].name < b[j].name) {
                out.append(a[i])
                i += 1
            } else if i == a.endIndex || b[j].name < a[i].name {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
                j += 1
            }
        }
        return out
    }
}

extension Snapshot {
    /// This snapshot as published after `previous` (see `GroupSnapshot.linked(after:)`).
    public func linked(after previous: Snapshot?) -> Snapshot {
        var groups: [GroupKey: GroupSnapshot] = [:]
        groups.reserveCapacity(self.groups.count)
        for (key, group) in self.groups { groups[key] = group.linked(after: previous?.groups[key]) }
        return Snapshot(groups: groups, identities: identities)
    }
}
