import Certs
import Config
import Crypto
import Foundation
import Translate

/// Reads the routes file and the cert directory and builds a snapshot, or says exactly why it cannot.
///
/// This is the only place the pipeline touches the file system; translation and snapshot building stay pure.
/// Only the routes file can fail a load: a certificate problem leaves out just what needs that certificate.
public enum Loader {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var errors: [String]
        public var description: String { errors.joined(separator: "\n") }
    }

    /// How much input a load may read.
    public struct Limits: Sendable {
        /// The largest routes file read; a larger one is refused on its size, before reading it.
        public var maxConfigBytes: Int
        public init(maxConfigBytes: Int = 16 << 20) { self.maxConfigBytes = maxConfigBytes }
    }

    /// Everything read from disk, before translation.
    public struct Inputs: Sendable {
        public var configPath: String
        public var routesText: [UInt8]
        public var certificates: CertificateScan
        /// Changes whenever the routes file or any usable certificate changes; a rescan compares it.
        public var digest: String
    }

    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var warnings: [String]
        /// Every certificate that can be served, including last good versions kept: the next load's `lastGood`.
        public var certificates: [String: CertificateBundle]
        /// What was left out for want of a usable certificate.
        public var skipped: [CertificateSelection.Skipped]
        /// Names served from their last good version while their files are broken or gone, with the current problem.
        public var kept: [String: CertificateError]
        /// Names present but unusable with no last good version: what needs them was left out.
        public var broken: [String: CertificateError]
        /// Names worth retrying soon: a renewal may be half-way.
        public var waitingForRepair: Set<String> { Set(kept.keys) }
        public var inputDigest: String
    }

    public static func load(configPath: String, certsPath: String, lastGood: [String: CertificateBundle] = [:],
                            limits: Limits = Limits(), now: Date = Date()) throws(Failure) -> Result {
        try build(read(configPath: configPath, certsPath: certsPath, lastGood: lastGood, limits: limits, now: now),
                  lastGood: lastGood, now: now)
    }

    /// Reads the routes file (refusing anything but a regular file within the size cap) and scans the certificates.
    public static func read(configPath: String, certsPath: String, lastGood: [String: CertificateBundle] = [:],
                            limits: Limits = Limits(), now: Date = Date()) throws(Failure) -> Inputs {
        let routes: [UInt8]
        switch InputFile.read(configPath, limit: limits.maxConfigBytes) {
        case .success(let contents): routes = contents.bytes
        case .failure(let failure) where failure.kind == .empty: routes = []
        case .failure(let failure):
            throw Failure(errors: ["\(configPath): cannot read the routes file: \(failure.reason)"])
        }
        let scan = CertificateDirectory.scan(path: certsPath, now: now, lastGood: lastGood)
        var digest = SHA256()
        digest.update(data: routes)
        digest.update(data: Array(scan.contentDigest.utf8))
        let hex = digest.finalize().map { String(format: "%02x", $0) }.joined()
        return Inputs(configPath: configPath, routesText: routes, certificates: scan, digest: hex)
    }

    /// Parses and translates what `read` returned.
    public static func build(_ inputs: Inputs, lastGood: [String: CertificateBundle] = [:],
                             now: Date = Date()) throws(Failure) -> Result {
        let config: RoutesConfig
        do {
            config = try RoutesFile.parse(String(decoding: inputs.routesText, as: UTF8.self), file: inputs.configPath)
        } catch {
            throw Failure(errors: error.errors.map(\.description))
        }
        var scan = inputs.certificates
        // Kept and expired certificates get their own, louder lines below.
        let keptProblems = Set(scan.kept.values.map(\.description))
        var warnings = scan.errors.filter { $0.code != .expired && !keptProblems.contains($0.description) }
            .map(\.description)

        // A referenced certificate whose folder is gone for now (renamed away, being replaced) keeps its last version.
        for name in referencedCertificates(config) where scan.bundles[name] == nil && scan.broken[name] == nil {
            if let previous = lastGood[name] {
                scan.bundles[name] = previous
                scan.kept[name] = .folderGone(previous.certificateFile.isEmpty
                    ? name : (previous.certificateFile as NSString).deletingLastPathComponent)
            }
        }
        for (name, problem) in scan.kept.sorted(by: { $0.key < $1.key }) {
            warnings.append("certificate \"\(name)\": \(problem); serving its last good version "
                            + "(serial \(scan.bundles[name]?.serialNumber ?? "?"))")
        }
        for bundle in scan.bundles.values.sorted(by: { $0.name < $1.name }) where bundle.isExpired(at: now) {
            warnings.append("EXPIRED: certificate \"\(bundle.name)\" expired on \(Timestamp.text(bundle.notAfter)); "
                            + "still served, renew it")
        }

        let (usableConfig, skipped) = CertificateSelection.apply(
            config, usable: Set(scan.bundles.keys), usableAuthorities: Set(scan.authorities.keys))
        warnings += explain(skipped, config: config, scan: scan)

        var translated: [ConfigSourceMode: [String: GroupResources]] = [:]
        for mode in ConfigSourceMode.allCases {
            translated[mode] = Translator.translate(usableConfig, certificates: scan.bundles, mode: mode,
                                                   authorities: scan.authorities)
        }
        do {
            return Result(snapshot: try Snapshot.build(translated), warnings: warnings, certificates: scan.bundles,
                          skipped: skipped, kept: scan.kept, broken: scan.broken, inputDigest: inputs.digest)
        } catch {
            throw Failure(errors: ["\(error)"])
        }
    }

    /// One line per thing left out, naming the real cause: the certificate's own problem when it is present but
    /// broken, or "not in the certificate directory (did you mean …?)" when no such certificate exists.
    static func explain(_ skipped: [CertificateSelection.Skipped], config: RoutesConfig,
                        scan: CertificateScan) -> [String] {
        let present = Set(scan.bundles.keys).union(scan.broken.keys)
        let unknown = Dictionary(
            RoutesFile.checkCertificates(config, available: present).map { ($0.position, $0) },
            uniquingKeysWith: { first, _ in first })
        let unknownCA = Dictionary(
            RoutesFile.checkClientAuthorities(config, available: Set(scan.authorities.keys)).map { ($0.position, $0) },
            uniquingKeysWith: { first, _ in first })
        return skipped.map { item in
            if item.clientCA {
                if let problem = scan.brokenAuthorities[item.certificate] { return "\(item): \(problem)" }
                if let error = unknownCA[item.position] { return "\(item): \(error)" }
                return item.description
            }
            if let problem = scan.problem(for: item.certificate) {
                return "\(item): \(problem)"
            }
            if let error = unknown[item.position] { return "\(item): \(error)" }
            return item.description
        }
    }

    static func referencedCertificates(_ config: RoutesConfig) -> Set<String> {
        var names = Set<String>()
        for listener in config.listeners {
            guard case .http(let http) = listener.kind else { continue }
            if let tls = http.tls { names.insert(tls.certificate) }
            for host in http.hosts { if let name = host.certificate { names.insert(name) } }
        }
        return names
    }
}
