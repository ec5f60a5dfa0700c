import Protobuf
import Snapshot
import Translate
import Vocabulary

extension GroupSnapshot {
    /// This group's resources as an Envoy bootstrap with static resources, for `envoy --mode validate`
    /// (see `StaticBootstrap`). It holds private keys: write it only where the keys may be.
    public var staticBootstrapJSON: String {
        var resources: [ResourceType: [ProtoMessage]] = [:]
        for type in ResourceType.allCases { resources[type] = self[type].sorted.map(\.message) }
        return StaticBootstrap.json(group: group, resources: resources)
    }
}
