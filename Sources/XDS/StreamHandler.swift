import Foundation
import GRPCServer
import NIOCore
import Snapshot
import Vocabulary

/// Binds one gRPC stream to a protocol state machine (state-of-the-world or delta). Lives on the stream's event loop.
final class StreamHandler<Machine: StreamMachine>: GRPCStreamHandler, SnapshotFollower {
    let server: XDSServer
    let stream: GRPCServerStream
    private let kind: String
    private let id: UInt64
    private let mode: ConfigSourceMode
    private(set) var machine: Machine
    /// Bytes of subscription state charged to the server-wide budget (`StreamLimits.swift`).
    var chargedBytes = 0
    /// The whole snapshot this stream's group snapshot came from, for the group guard.
    private var served: Snapshot = .empty
    /// The version of `served` this stream last reported to the group guard as fully accepted.
    private var acceptedVersion: String?
    /// Whether this stream is registered with the server's snapshot fan-out.
    private var following = false
    /// The newest snapshot not pushed yet because the proxy is not reading, and the timer that retries it.
    private var deferred: Snapshot?
    private var drainCheck: Scheduled<Void>?
    private var finished = false
    private var nodeID = ""
    private let fixedType: ResourceType?
    /// Secret names asked for that the group does not hold, already logged.
    private var secretRequests = SecretRequests()
    /// This stream's group's counters, looked up once when the first request names the group.
    private var counters: XDSMetrics.GroupCounters?
    /// When each type's latest response was sent, to time its ACK.
    private var sendTimes = SendTimes()
    /// Per type, the names last listed for the admin endpoint and that list (`listedNames`).
    private var listedSubscriptions: [ResourceType: (names: Set<String>, listed: [String])] = [:]

    init(server: XDSServer, stream: GRPCServerStream, kind: String, fixedType: ResourceType?, mode: ConfigSourceMode) {
        self.server = server
        self.stream = stream
        self.kind = kind
        self.id = server.registry.makeID()
        self.mode = mode
        self.fixedType = fixedType
        self.machine = Machine(fixedType: fixedType)
    }

    func received(_ message: [UInt8]) {
        guard !finished else { return }
        let request: Machine.Request
        do {
            request = try machine.decode(message, node: machine.snapshot == nil)
        } catch {
            return finish(GRPCStatus(code: .invalidArgument, message: "malformed \(Machine.requestName): \(error)"))
        }
        if let reason = limitExceeded(requestNames: Machine.nameCount(of: request)) {
            return refuse(reason, .namesPerType)
        }
        if machine.snapshot == nil, !start(with: request) { return }
        noteSecretsNotHeld(request)
        let actions = machine.receive(request)
        if let reason = limitExceeded(requestNames: nil) {
            return refuse(reason, .namesPerType)
        }
        if let reason = chargeRetainedState() {
            return refuse(reason, .subscriptionBudget)
        }
        // The request's own type changed (its subscription at least), whatever the machine answers.
        let type = machine.fixedType ?? ResourceType(typeURL: Machine.namesAsked(in: request).typeURL)
        perform(actions, touching: type)
    }

    /// Logs (once per name, bounded) secrets the proxy names that its group does not hold; it is sent none of them.
    private func noteSecretsNotHeld(_ request: Machine.Request) {
        let asked = Machine.namesAsked(in: request)
        let type = asked.typeURL.isEmpty ? fixedType : ResourceType(typeURL: asked.typeURL)
        guard type == .secret, let group = machine.snapshot else { return }
        for name in secretRequests.unknown(asked.names, secrets: group[.secret]) {
            server.logger.notice(
                "a proxy asked for a secret its group does not use; sending nothing",
                metadata: [
                    "peer": "\(stream.remoteAddress ?? "?")", "identity": "\(stream.peer)", "node": "\(nodeID)",
                    "group": "\(group.group)", "secret": "\(name)",
                ])
        }
    }

    /// Ends the stream over a limit with RESOURCE_EXHAUSTED; logged at most once per interval, with the peer.
    private func refuse(_ reason: String, _ limit: XDSMetrics.Limit) {
        server.metrics.hit(limit)
        server.limitLog.log(
            server.logger, "ending an xDS stream over a limit",
            metadata: [
                "peer": "\(stream.remoteAddress ?? "?")", "node": "\(nodeID)", "group": "\(groupName)",
                "limit": "\(limit.rawValue)", "reason": "\(reason)",
            ])
        finish(GRPCStatus(code: .resourceExhausted, message: reason), quiet: true)
    }

    func receivedEnd() {
        finish(.ok)
    }

    func closed() {
        if let group = machine.snapshot?.group, !nodeID.isEmpty {
            server.logger.info(
                "stream closed",
                metadata: [
                    "node": "\(nodeID)", "group": "\(group)", "kind": "\(kind)",
                    "peer": "\(stream.remoteAddress ?? "")",
                ])
        }
        finished = true
        drainCheck?.cancel()
        drainCheck = nil
        deferred = nil
        if following { server.fanOut.remove(id, on: stream.eventLoop) }
        following = false
        releaseRetainedState()
        server.registry.remove(id)
    }

    /// The first request names the node: pick its group, register, and follow snapshot changes.
    private func start(with request: Machine.Request) -> Bool {
        guard let node = Machine.node(of: request) else {
            finish(GRPCStatus(code: .invalidArgument, message: "the first request on a stream must carry node"))
            return false
        }
        // Follow before reading the current snapshot so that no publish falls in between.
        server.fanOut.add(id, self, on: stream.eventLoop)
        following = true
        switch server.snapshot(for: node, mode: mode, peer: stream.peer, address: stream.remoteAddress) {
        case .failure(let status):
            finish(status)
            return false
        case .success(let (snapshot, full)):
            machine.attach(snapshot)
            served = full
            nodeID = node.id
            counters = server.metrics.counters(for: snapshot.group)
            server.registry.upsert(
                StreamInfo(
                    id: id, nodeID: node.id, group: snapshot.group, kind: kind, peer: stream.remoteAddress,
                    userAgent: "\(node.userAgent) \(node.userAgentVersion)", connectedAt: Date()))
            server.logger.info(
                "stream opened",
                metadata: [
                    "node": "\(node.id)", "group": "\(snapshot.group)", "kind": "\(kind)",
                    "peer": "\(stream.remoteAddress ?? "")",
                ])
            return true
        }
    }

    /// The group for log lines: empty until the first request picked one.
    private var groupName: String { machine.snapshot?.group ?? "" }

    /// Above this many unsent bytes a stream stops taking new pushes and keeps only the newest snapshot, so a proxy
    /// that stops reading costs one pending snapshot, not one response per publish.
    static var backlogLimit: Int { 1 << 20 }

    func snapshotChanged(_ snapshot: Snapshot) {
        guard !finished, let current = machine.snapshot else { return }
        if stream.pendingOutboundBytes > Self.backlogLimit {
            deferred = snapshot
            scheduleDrainCheck()
            return
        }
        guard let group = snapshot.group(current.group, mode: mode) else {
            return finish(
                GRPCStatus(code: .unavailable, message: "group \"\(current.group)\" was removed from the routes file"))
        }
        // An edit of the group's identities can take the group away from this certificate: end, do not push.
        if !Entitlement.allows(stream.peer, group: current.group, identities: snapshot.identities) {
            return finish(
                .permissionDenied(
                    "the client certificate (\(stream.peer)) may no longer take group \"\(current.group)\""))
        }
        // A version some proxy of the group already rejected is not pushed to the others.
        if server.groupGuard.isRejected(snapshot, group: current.group) { return }
        served = snapshot
        perform(machine.update(group))
    }

    private func scheduleDrainCheck() {
        guard drainCheck == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: stream.eventLoop)
        drainCheck = stream.eventLoop.scheduleTask(in: .milliseconds(50)) {
            let handler = loopBound.value
            handler.drainCheck = nil
            if let snapshot = handler.deferred {
                handler.deferred = nil
                handler.snapshotChanged(snapshot)
            }
        }
    }

    /// Carries out the machine's actions, then records what the proxy said (if anything) and the machine's state.
    private func perform(_ actions: [XDSAction<Machine.Response>], touching requested: ResourceType? = nil) {
        var touched: [ResourceType] = requested.map { [$0] } ?? []
        var acked: [ResourceType] = []
        var nacked: [(type: ResourceType, version: String, message: String)] = []
        let now = NIODeadline.now()
        for action in actions {
            switch action {
            case .send(let response):
                let type = Machine.type(of: response)
                touched.append(type)
                counters?.pushes[type.metricsIndex].increment()
                sendTimes.sent(type, at: now)
                let (head, body) = Machine.encode(
                    response, controlPlane: server.controlPlane, cache: server.responses)
                stream.send(head: head, body: body)
            case .acked(let type, _):
                acked.append(type)
                touched.append(type)
                counters?.acks[type.metricsIndex].increment()
                if let waited = sendTimes.answered(type, at: now) {
                    server.metrics.converged(type, nanoseconds: waited)
                }
            case .nacked(let type, let version, let message):
                nacked.append((type, version, message))
                touched.append(type)
                counters?.nacks[type.metricsIndex].increment()
                _ = sendTimes.answered(type, at: now)
            case .fail(let status):
                finish(status)
            }
        }
        record(acked: acked, nacked: nacked, touched: touched)
    }

    private func finish(_ status: GRPCStatus, quiet: Bool = false) {
        guard !finished else { return }
        if status.code != .ok && !quiet {
            server.logger.warning(
                "stream ended",
                metadata: [
                    "node": "\(nodeID)", "group": "\(groupName)", "code": "\(status.code)",
                    "reason": "\(status.message)",
                ])
        }
        finished = true
        stream.finish(status)
    }

    /// The admin's list of a type's names, sorted again only when the names changed: an ACK or a push leaves them
    /// as they were (and the same storage, so comparing them is immediate).
    private func listedNames(_ type: ResourceType, _ names: Set<String>) -> [String] {
        if let kept = listedSubscriptions[type], kept.names == names { return kept.listed }
        let list = listed(names)
        listedSubscriptions[type] = (names, list)
        return list
    }

    /// Mirrors the machine's state into the registry (the one copy the admin endpoint reads), stamps NACKs with the
    /// time they arrived, and tells the group guard when this proxy rejected or fully accepted what it was served.
    private func record(
        acked: [ResourceType], nacked: [(type: ResourceType, version: String, message: String)],
        touched: [ResourceType]
    ) {
        guard !touched.isEmpty else { return }
        if let group = machine.snapshot?.group {
            if !nacked.isEmpty {
                server.groupGuard.reject(served, group: group)
                acceptedVersion = nil
            } else if !acked.isEmpty, served.version != acceptedVersion,
                machine.types.values.allSatisfy({ $0.nacked == nil && $0.acked != nil && $0.acked == $0.lastVersion })
            {
                // Only an ACK accepts: a publish that touched none of this stream's types says nothing about it.
                server.groupGuard.accept(served, group: group)
                acceptedVersion = served.version
            }
        }
        // Only the types this request or push changed (an ACK of endpoints leaves the other four as they were),
        // read before taking the registry's lock, which every stream of every loop shares, and written in place.
        var sides: [(ResourceType, StreamInfo.TypeInfo.MachineSide)] = []
        for type in touched where !sides.contains(where: { $0.0 == type }) {
            if let state = machine.types[type] {
                sides.append((type, .init(state, listed: listedNames(type, state.names))))
            }
        }
        let now = Date()
        server.registry.update(id) { info in
            for (type, side) in sides { info.types[type, default: StreamInfo.TypeInfo()].mirror(side, at: now) }
            for nack in nacked {
                info.types[nack.type]?.recordNack(version: nack.version, message: nack.message, at: now)
            }
        }
        for nack in nacked {
            server.logger.warning(
                "proxy rejected an update",
                metadata: [
                    "node": "\(nodeID)", "group": "\(groupName)", "type": "\(nack.type.rawValue)",
                    "version": "\(nack.version)", "reason": "\(nack.message)",
                ])
        }
    }
}
