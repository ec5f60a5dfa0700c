import CoreMetrics
import NIOCore
import Synchronization
import Vocabulary

/// What the xDS server counts, through swift-metrics: the backend is the caller's (the `chancery` binary passes a
/// Prometheus registry, tests their own; the default records nothing). Library code never touches the global
/// `MetricsSystem`.
///
/// Counters are made once per (type, group) and cached: a stream looks its group's set up once, when it opens, so a
/// push, an ACK or a NACK costs one atomic increment. Groups come from the routes file (a proxy cannot invent one),
/// so the label sets stay bounded.
public final class XDSMetrics: Sendable {
    /// One group's counters, indexed by `ResourceType.metricsIndex`.
    struct GroupCounters: Sendable {
        let pushes: [Counter]
        let acks: [Counter]
        let nacks: [Counter]
    }

    /// The xDS limits, as the `limit` label of `chancery_xds_limit_hits_total` (beside `ServerLimit`'s).
    enum Limit: String {
        case namesPerType = "names_per_type"
        case subscriptionBudget = "subscription_budget"
    }

    private let factory: any MetricsFactory
    private let groups = Mutex<[String: GroupCounters]>([:])
    /// Seconds from a response being sent to its ACK, per type (`ResourceType.metricsIndex`).
    private let convergence: [Timer]
    private let namesPerType: Counter
    private let subscriptionBudget: Counter

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        convergence = ResourceType.allCases.map {
            Timer(label: Self.convergenceLabel, dimensions: [("type", $0.rawValue)], factory: factory)
        }
        namesPerType = Counter(
            label: "chancery_xds_limit_hits_total", dimensions: [("limit", Limit.namesPerType.rawValue)],
            factory: factory)
        subscriptionBudget = Counter(
            label: "chancery_xds_limit_hits_total", dimensions: [("limit", Limit.subscriptionBudget.rawValue)],
            factory: factory)
    }

    /// The convergence histogram's name, for a backend that sets buckets per name.
    public static let convergenceLabel = "chancery_xds_ack_seconds"

    /// The counters of `group`, made on first use.
    func counters(for group: String) -> GroupCounters {
        groups.withLock { groups in
            if let known = groups[group] { return known }
            func make(_ label: String) -> [Counter] {
                ResourceType.allCases.map {
                    Counter(label: label, dimensions: [("type", $0.rawValue), ("group", group)], factory: factory)
                }
            }
            let made = GroupCounters(
                pushes: make("chancery_xds_pushes_total"), acks: make("chancery_xds_acks_total"),
                nacks: make("chancery_xds_nacks_total"))
            groups[group] = made
            return made
        }
    }

    func converged(_ type: ResourceType, nanoseconds: Int64) {
        convergence[type.metricsIndex].recordNanoseconds(nanoseconds)
    }

    func hit(_ limit: Limit) {
        switch limit {
        case .namesPerType: namesPerType.increment()
        case .subscriptionBudget: subscriptionBudget.increment()
        }
    }
}

extension ResourceType {
    /// The position in `allCases`, without searching it: the index into per-type metric arrays.
    var metricsIndex: Int {
        switch self {
        case .listener: return 0
        case .route: return 1
        case .cluster: return 2
        case .endpoint: return 3
        case .secret: return 4
        }
    }
}

/// When each type's latest response went out on one stream, so its ACK can be timed; 0 when none is waiting.
struct SendTimes {
    private var sent = [UInt64](repeating: 0, count: ResourceType.allCases.count)

    mutating func sent(_ type: ResourceType, at now: NIODeadline) {
        sent[type.metricsIndex] = now.uptimeNanoseconds
    }

    /// Nanoseconds since `type`'s response was sent, once (the wait ends with this answer), or nil.
    mutating func answered(_ type: ResourceType, at now: NIODeadline) -> Int64? {
        let index = type.metricsIndex
        let then = sent[index]
        guard then != 0 else { return nil }
        sent[index] = 0
        return Int64(now.uptimeNanoseconds &- then)
    }
}
