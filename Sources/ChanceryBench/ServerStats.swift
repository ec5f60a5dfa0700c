import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A process's resident memory and CPU time, read from /proc.
struct ProcessStats {
    var rssKiB: Int
    var cpuSeconds: Double

    /// VmRSS from /proc/<pid>/status and utime + stime from /proc/<pid>/stat.
    static func read(pid: Int32) -> ProcessStats? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        // Fields after "comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard let rss, fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else {
            return nil
        }
        return ProcessStats(rssKiB: rss, cpuSeconds: (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK))))
    }
}

/// Raises this process's descriptor limit to the hard limit (children inherit it).
func raiseDescriptorLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
func freePort(group: any EventLoopGroup) async throws -> Int {
    let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port
    try await channel.close()
    guard let port else { throw BenchError("bound a port but cannot read it back") }
    return port
}
