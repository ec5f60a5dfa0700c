import ArgumentParser
import Certs
import Foundation
import Pipeline
import Snapshot
import Translate

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a routes file (and, with --certs, the certificates it names). Exit 0 when valid.")

    @Argument(help: "The routes file.")
    var config: String

    @Option(help: "The certificate directory (DIR/NAME/tls.crt and tls.key, or fullchain.pem and privkey.pem).")
    var certs: String?

    @Option(
        help:
            "A directory of raw Envoy resources (.yaml/.json in proto3 JSON form) added to the groups' snapshots; see docs/ROUTES.md."
    )
    var raw: String?

    /// Certificates closer than this to their notAfter are warned about.
    static let expiryWarningDays = 14

    func run() throws {
        if let certs {
            let result: Loader.Result
            do {
                result = try Loader.load(configPath: config, certsPath: certs, rawPath: raw)
            } catch {
                for line in error.lines { printError(line) }
                throw ExitCode(1)
            }
            // What serve would leave out makes the check fail: said as errors, after the plain warnings.
            for warning in result.warnings.dropLast(result.leftOut.count) { printError("warning: \(warning)") }
            for line in result.leftOut { printError("error: \(line)") }
            let now = Date()
            for bundle in result.certificates.values.sorted(by: { $0.name < $1.name })
            where !bundle.isExpired(at: now) && bundle.daysLeft(at: now) < Self.expiryWarningDays {
                printError(
                    "warning: certificate \"\(bundle.name)\" expires on \(Timestamp.text(bundle.notAfter)) "
                        + "(\(bundle.daysLeft(at: now)) days left)")
            }
            // serve would run, but without these or with an expired certificate: a check says no.
            let expired = result.certificates.values.filter { $0.isExpired(at: now) }
            if !result.skipped.isEmpty || !expired.isEmpty {
                printError(
                    "\(config): not valid with these certificates: \(Self.summary(result.skipped, expired.count))")
                throw ExitCode(1)
            }
            print("\(config): ok (snapshot \(result.snapshot.version))")
            return
        }
        do {
            let routes = try Loader.parseRoutes(Loader.readRoutes(config), path: config)
            if let raw { _ = try Loader.parseRaw(Loader.readRaw(raw), groups: routes.groups) }
            print("\(config): ok")
        } catch {
            for line in error.lines { printError(line) }
            throw ExitCode(1)
        }
    }
}

extension Validate {
    /// `serve would leave out 1 listener and 2 hosts, give cluster "nas" no endpoints; 1 certificate has expired`.
    static func summary(_ skipped: [CertificateSelection.Skipped], _ expired: Int) -> String {
        func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
        var parts: [String] = []
        let listeners = skipped.filter { $0.cluster == nil && $0.host == nil }.count
        let hosts = skipped.filter { $0.cluster == nil && $0.host != nil }.count
        let clusters = skipped.compactMap(\.cluster)
        var leaves: [String] = []
        if listeners > 0 { leaves.append(count(listeners, "listener")) }
        if hosts > 0 { leaves.append(count(hosts, "host")) }
        if !leaves.isEmpty { parts.append("serve would leave out " + leaves.joined(separator: " and ")) }
        if !clusters.isEmpty {
            let names = clusters.map { "\"\($0)\"" }.joined(separator: ", ")
            parts.append("cluster\(clusters.count == 1 ? "" : "s") \(names) would get no endpoints")
        }
        if expired > 0 {
            parts.append(expired == 1 ? "1 certificate has expired" : "\(expired) certificates have expired")
        }
        return parts.joined(separator: "; ")
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
