import ArgumentParser
import Certs
import Config
import Foundation
import Snapshot

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a routes file (and, with --certs, the certificates it names). Exit 0 when valid.")

    @Argument(help: "The routes file.")
    var config: String

    @Option(help: "The certificate directory (DIR/NAME/tls.crt and tls.key).")
    var certs: String?

    func run() throws {
        if let certs {
            do {
                let result = try Loader.load(configPath: config, certsPath: certs)
                for warning in result.warnings { printError("warning: \(warning)") }
                print("\(config): ok (snapshot \(result.snapshot.version))")
            } catch {
                for line in error.errors { printError(line) }
                throw ExitCode(1)
            }
            return
        }
        do {
            _ = try RoutesFile.load(path: config)
            print("\(config): ok")
        } catch let errors {
            for error in errors.errors { printError(error.description) }
            throw ExitCode(1)
        }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
