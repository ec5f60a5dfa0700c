import Foundation
import GRPCServer
import NIOCore
import Snapshot
import Translate

/// Binds one gRPC stream to a protocol state machine (state-of-the-world or delta). Lives on the stream's event loop.
final class StreamHandler<Machine: StreamMachine>: GRPCStreamHandler {
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
    private var observer: UInt64?
    /// The newest snapshot not pushed yet because the proxy is not reading, and the timer that retries it.
    private var deferred: Snapshot?
    private var drainCheck: Scheduled<Void>?
    private var finished = false
    private var nodeID = ""

    init(server: XDSServer, stream: GRPCServerStream, kind: String, fixedType: ResourceType?, mode: ConfigSourceMode) {
        self.server = server
        self.stream = stream
        self.kind = kind
        self.id = server.registry.makeID()
        self.mode = mode
        self.machine = Machine(fixedType: fixedType)
    }

    func received(_ message: [UInt8]) {
        guard !finished else { return }
        let request: Machine.Request
        do {
            request = try Machine.decode(message)
        } catch {
            return finish(GRPCStatus(code: .invalidArgument, message: "malformed \(Machine.requestName): \(error)"))
        }
        if let reason = limitExceeded(requestNames: Machine.nameCount(of: request)) {
            return refuse(reason)
        }
        if machine.snapshot == nil, !start(with: request) { return }
        let before = machine.summary
        let actions = machine.receive(request)
        if let reason = limitExceeded(requestNames: nil) ?? chargeRetainedState() {
            return refuse(reason)
        }
        perform(actions)
        record(before: before)
    }

    /// Ends the stream over a limit with RESOURCE_EXHAUSTED; logged at most once per interval, with the peer.
    private func refuse(_ reason: String) {
        server.limitLog.log(server.logger, "ending an xDS stream over a limit", metadata: [
            "peer": "\(stream.remoteAddress ?? "?")", "node": "\(nodeID)", "reason": "\(reason)",
        ])
        finish(GRPCStatus(code: .resourceExhausted, message: reason), quiet: true)
    }

    func receivedEnd() {
        finish(.ok)
    }

    func closed() {
        finished = true
        drainCheck?.cancel()
        drainCheck = nil
        deferred = nil
        if let observer { server.store.stopObserving(observer) }
        observer = nil
        releaseRetainedState()
        server.registry.remove(id)
    }

    /// The first request names the node: pick its group, register, and follow snapshot changes.
    private func start(with request: Machine.Request) -> Bool {
        guard let node = Machine.node(of: request) else {
            finish(GRPCStatus(code: .invalidArgument, message: "the first request on a stream must carry node"))
            return false
        }
        // Observe before reading the current snapshot so that no publish falls in between.
        let loopBound = NIOLoopBound(self, eventLoop: stream.eventLoop)
        let eventLoop = stream.eventLoop
        observer = server.store.observe { snapshot in
            eventLoop.execute { loopBound.value.snapshotChanged(snapshot) }
        }
        switch server.snapshot(for: node, mode: mode) {
        case .failure(let status):
            finish(status)
            return false
        case .success(let (snapshot, full)):
            machine.attach(snapshot)
            served = full
            nodeID = node.id
            server.registry.upsert(StreamInfo(
                id: id, nodeID: node.id, group: snapshot.group, kind: kind, peer: stream.remoteAddress,
                userAgent: "\(node.userAgent) \(node.userAgentVersion)", connectedAt: Date()))
            server.logger.info("stream opened", metadata: [
                "node": "\(node.id)", "group": "\(snapshot.group)", "kind": "\(kind)", "peer": "\(stream.remoteAddress ?? "")",
            ])
            return true
        }
    }

    /// Above this many unsent bytes a stream stops taking new pushes and keeps only the newest snapshot, so a proxy
    /// that stops reading costs one pending snapshot, not one response per publish.
    static var backlogLimit: Int { 1 << 20 }

    private func snapshotChanged(_ snapshot: Snapshot) {
        guard !finished, let current = machine.snapshot else { return }
        if stream.pendingOutboundBytes > Self.backlogLimit {
            deferred = snapshot
            scheduleDrainCheck()
            return
        }
        guard let group = snapshot.group(current.group, mode: mode) else {
            return finish(GRPCStatus(code: .unavailable, message: "group \"\(current.group)\" was removed from the routes file"))
        }
        // A version some proxy of the group already rejected is not pushed to the others.
        if server.groupGuard.isRejected(snapshot, group: current.group) { return }
        served = snapshot
        let before = machine.summary
        perform(machine.update(group))
        record(before: before)
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

    private func perform(_ actions: [XDSAction<Machine.Response>]) {
        for action in actions {
            switch action {
            case .send(let response):
                stream.send(Machine.encode(response, controlPlane: server.controlPlane))
            case .fail(let code, let message):
                finish(GRPCStatus(code: GRPCStatus.Code(rawValue: code) ?? .internalError, message: message))
            }
        }
    }

    private func finish(_ status: GRPCStatus, quiet: Bool = false) {
        guard !finished else { return }
        if status.code != .ok && !quiet {
            server.logger.warning("stream ended", metadata: ["code": "\(status.code)", "reason": "\(status.message)"])
        }
        finished = true
        stream.finish(status)
    }

    /// Mirrors the state machine into the registry, stamping NACKs with the time they arrived, and tells the group
    /// guard when this proxy rejected or fully accepted what it was served.
    private func record(before: [ResourceType: TypeSummary]) {
        let now = Date()
        let types = machine.summary
        let newlyNacked = Set(types.compactMap { type, state in
            state.nacked != nil && (state.nacked != before[type]?.nacked || state.nackMessage != before[type]?.nackMessage)
                ? type : nil
        })
        if let group = machine.snapshot?.group {
            // Only a real ACK accepts: a stream whose types a publish did not touch has said nothing about it.
            let newAck = types.contains { type, state in state.acked != nil && state.acked != before[type]?.acked }
            if !newlyNacked.isEmpty {
                server.groupGuard.reject(served, group: group)
            } else if newAck,
                      types.values.allSatisfy({ $0.nacked == nil && $0.acked != nil && $0.acked == $0.sentVersion }) {
                server.groupGuard.accept(served, group: group)
            }
        }
        server.registry.update(id) { info in
            for (type, state) in types {
                var entry = info.types[type] ?? StreamInfo.TypeInfo()
                entry.subscribed = state.subscribed
                entry.subscribedCount = state.subscribedCount
                entry.wildcard = state.wildcard
                entry.sentVersion = state.sentVersion
                entry.sentNonce = state.sentNonce
                entry.ackedVersion = state.acked
                if newlyNacked.contains(type) { entry.nackAt = now }
                if let nacked = state.nacked {
                    entry.nackedVersion = nacked
                    entry.nackMessage = state.nackMessage
                }
                info.types[type] = entry
            }
        }
        for type in newlyNacked.sorted() {
            server.logger.warning("proxy rejected an update", metadata: [
                "node": "\(nodeID)", "type": "\(type.rawValue)",
                "version": "\(types[type]?.nacked ?? "")", "reason": "\(types[type]?.nackMessage ?? "")",
            ])
        }
    }
}
