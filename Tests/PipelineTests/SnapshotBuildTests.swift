import Protobuf
import Snapshot
import Testing
import Vocabulary

/// `Snapshot.build` encodes the distinct resources on several threads: the result must be what encoding each one
/// by itself gives, shared where the same resource appears twice, and a failure must name the resource that failed.
@Suite struct SnapshotBuildTests {
    static func cluster(_ name: String, _ extra: [String: ProtoValue] = [:]) -> ProtoMessage {
        var fields: [String: ProtoValue] = ["name": .string(name), "type": .enumValue("STRICT_DNS")]
        fields.merge(extra) { $1 }
        return ProtoMessage("envoy.config.cluster.v3.Cluster", fields)
    }

    static func translated(_ clusters: [String: ProtoMessage]) -> [ConfigSourceMode: [String: [ResourceType: [String:
        ProtoMessage]]]]
    {
        // Two groups and two modes hold the same clusters: each is encoded once.
        [
            .ads: ["a": [.cluster: clusters], "b": [.cluster: clusters]],
            .perTypeSotW: ["a": [.cluster: clusters]],
        ]
    }

    @Test func everyResourceIsWhatEncodingItAloneGives() throws {
        var clusters: [String: ProtoMessage] = [:]
        for index in 0..<600 {
            clusters["c\(index)"] = Self.cluster("c\(index)", ["alt_stat_name": .string("\(index)")])
        }
        let snapshot = try Snapshot.build(Self.translated(clusters))
        #expect(snapshot.groups.count == 3)
        for group in snapshot.groups.values {
            let resources = group[.cluster].resources
            #expect(resources.count == 600)
            for (name, message) in clusters {
                #expect(resources[name] == (try EncodedResource(type: .cluster, name: name, message: message)))
            }
        }
    }

    @Test func aFailureNamesTheResourceThatFailed() {
        var clusters: [String: ProtoMessage] = [:]
        for index in 0..<600 { clusters["c\(index)"] = Self.cluster("c\(index)") }
        clusters["broken"] = Self.cluster("broken", ["no_such_field": .bool(true)])
        #expect {
            try Snapshot.build(Self.translated(clusters))
        } throws: { error in
            guard case .encoding(_, let type, let name, let reason)? = error as? SnapshotError else { return false }
            return type == .cluster && name == "broken" && reason.contains("no_such_field")
        }
    }
}
