import NIOCore
import NIOPosix

/// The simulated proxies of one run: N connections to one server, all in this process.
final class Fleet {
    let recorder: Recorder
    private(set) var channels: [any Channel] = []
    private(set) var starts: [Int64] = []

    init(capacity: Int) {
        recorder = Recorder(proxies: capacity)
    }

    /// Connects `count` proxies with at most `batch` not yet holding their config; returns when every proxy holds
    /// it or `timeout` passes. Connection times are per proxy, from its own connect call.
    func connect(
        count: Int, batch: Int, port: Int, kind: ServerKind, delta: Bool, group: any EventLoopGroup,
        timeout: Duration
    ) async throws {
        recorder.begin(0, expected: kind == .raw ? 1 : XDSType.allBits)
        let deadline = ContinuousClock.now + timeout
        let recorder = self.recorder
        for index in 0..<count {
            while index - recorder.completed >= batch {
                guard ContinuousClock.now < deadline else { throw BenchError("connect timed out at \(index)") }
                try await Task.sleep(for: .milliseconds(1))
            }
            starts.append(nowNanos())
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler: any ChannelHandler =
                            kind == .raw
                            ? RawProxyHandler(index: index, recorder: recorder)
                            : ProxyHandler(
                                index: index, delta: delta, recorder: recorder, authority: "127.0.0.1:\(port)")
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            do {
                channels.append(try await bootstrap.connect(host: "127.0.0.1", port: port).get())
            } catch {
                throw BenchError("proxy \(index) could not connect: \(error)")
            }
            if let failure = recorder.failures.first { throw BenchError(failure) }
        }
        try await waitAll(count: count, deadline: deadline)
    }

    /// Waits until `count` proxies completed the current scenario; throws on a failure or past `deadline`.
    func waitAll(count: Int, deadline: ContinuousClock.Instant) async throws {
        while recorder.completed < count {
            if let failure = recorder.failures.first { throw BenchError(failure) }
            guard ContinuousClock.now < deadline else {
                throw BenchError("only \(recorder.completed) of \(count) proxies done before the deadline")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func close() async {
        for channel in channels { try? await channel.close() }
        channels.removeAll()
    }
}
