import ArgumentParser
import Certs
import Foundation
import Pipeline
import Snapshot

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a routes file (and, with --certs, the certificates it names). Exit 0 when valid.")

    @Argument(help: "The routes file.")
    var config: String

    @Option(help: "The certificate directory (DIR/NAME/tls.crt and tls.key, or fullchain.pem and privkey.pem).")
    var certs: String?

    /// Certificates closer than this to their notAfter are warned about.
    static let expiryWarningDays = 14

    func run() throws {
        if let certs {
            let result: Loader.Result
            do {
                result = try Loader.load(configPath: config, certsPath: certs)
            } catch {
                for line in error.lines { printError(line) }
                throw ExitCode(1)
            }
            for warning in result.warnings { printError("warning: \(warning)") }
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
                    "\(config): \(result.skipped.count) listener(s) or host(s) would be left out, "
                        + "\(expired.count) expired certificate(s)")
                throw ExitCode(1)
            }
            print("\(config): ok (snapshot \(result.snapshot.version))")
            return
        }
        do {
            _ = try Loader.parseRoutes(Loader.readRoutes(config), path: config)
            print("\(config): ok")
        } catch {
            for line in error.lines { printError(line) }
            throw ExitCode(1)
        }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
