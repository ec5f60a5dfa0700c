/// Node groups: the unit a routes file assigns listeners to and a proxy is served.
public enum NodeGroup {
    /// The group of a file that declares none, and of a proxy that names none.
    public static let defaultName = "default"
}

/// One node group in one config-source mode: what a snapshot holds a set of resources for.
public struct GroupKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let group: String
    public let mode: ConfigSourceMode

    public init(group: String, mode: ConfigSourceMode) {
        self.group = group
        self.mode = mode
    }

    public var description: String { "\(group)/\(mode.rawValue)" }

    public static func < (a: GroupKey, b: GroupKey) -> Bool { (a.group, a.mode) < (b.group, b.mode) }
}
