import Certs
import Config
import Translate

/// Reads the routes file and the cert directory and builds a snapshot, or says exactly why it cannot.
///
/// This is the only place the pipeline touches the file system; translation and snapshot building stay pure.
public enum Loader {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var errors: [String]
        public var description: String { errors.joined(separator: "\n") }
    }

    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var warnings: [String]
    }

    public static func load(configPath: String, certsPath: String) throws(Failure) -> Result {
        let config: RoutesConfig
        do {
            config = try RoutesFile.load(path: configPath)
        } catch {
            throw Failure(errors: error.errors.map(\.description))
        }
        let certs = CertificateDirectory.load(path: certsPath)
        return try build(config: config, bundles: certs.bundles, certificateErrors: certs.errors.map(\.description))
    }

    /// Builds from already-loaded inputs. A certificate problem is fatal only when a listener needs that certificate.
    public static func build(config: RoutesConfig, bundles: [String: CertificateBundle],
                             certificateErrors: [String]) throws(Failure) -> Result {
        let missing = RoutesFile.checkCertificates(config, available: Set(bundles.keys))
        if !missing.isEmpty {
            throw Failure(errors: missing.map(\.description) + certificateErrors)
        }
        var translated: [ConfigSourceMode: [String: GroupResources]] = [:]
        for mode in ConfigSourceMode.allCases {
            translated[mode] = Translator.translate(config, certificates: bundles, mode: mode)
        }
        do {
            return Result(snapshot: try Snapshot.build(translated), warnings: certificateErrors)
        } catch {
            throw Failure(errors: ["\(error)"])
        }
    }
}
