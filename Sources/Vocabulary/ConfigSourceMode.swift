/// Where a proxy fetches the RDS, EDS and SDS resources that a Listener or Cluster names.
///
/// Envoy does not implement the `self` config source, so the resources name their source explicitly: `ads` keeps
/// them on the proxy's aggregated stream; the per-type modes point at the bootstrap's control-plane cluster with one
/// stream per type, state-of-the-world or delta. A snapshot is built once per mode. (How a mode is written into a
/// ConfigSource message is the translator's business: `Translate/Builders.swift`.)
public enum ConfigSourceMode: String, Sendable, Hashable, CaseIterable, Comparable {
    case ads
    case perTypeSotW = "grpc"
    case perTypeDelta = "delta-grpc"

    /// The cluster name `chancery bootstrap` gives the control plane.
    public static let controlPlaneCluster = "chancery_xds"

    public static func < (a: ConfigSourceMode, b: ConfigSourceMode) -> Bool { a.rawValue < b.rawValue }
}
