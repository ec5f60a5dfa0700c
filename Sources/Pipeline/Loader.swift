import Certs
import Config
import Crypto
import Foundation
import RawResources
import Snapshot
import Translate
import Vocabulary

/// The one path input takes to a proxy: read → validate → translate → snapshot.
///
/// Each stage is a function of the previous stage's output. Only `read` touches the file system; `validate` is the
/// single place input is judged (the routes file's rules, then which certificates can be served); `translate` and
/// `snapshot` are pure. Only the routes file can fail a load: a certificate problem leaves out just what needs that
/// certificate, with a warning. Errors stay typed (`LoadError`) until they are printed.
public enum Loader {
    /// How much input a load may read.
    public struct Limits: Sendable {
        /// The largest routes file read; a larger one is refused on its size, before reading it.
        public var maxConfigBytes: Int
        public init(maxConfigBytes: Int = 16 << 20) { self.maxConfigBytes = maxConfigBytes }
    }

    /// Stage 1's output: everything read from disk.
    public struct Inputs: Sendable {
        public var configPath: String
        public var routesText: [UInt8]
        public var certificates: CertificateScan
        /// The raw resource files (`--raw`), in name order; empty without the flag.
        public var rawFiles: [RawFile] = []
        /// Changes whenever the routes file, a raw file or any usable certificate changes; a rescan compares it.
        public var digest: String
    }

    /// Stage 2's output: a routes model whose every reference can be served, and what was said about the input.
    public struct Validated: Sendable {
        /// The routes file with what needs an unusable certificate left out.
        public var config: RoutesConfig
        public var certificates: CertificateScan
        public var warnings: [String]
        public var skipped: [CertificateSelection.Skipped]
        /// One line per element of `skipped`, naming the cause (also the last lines of `warnings`).
        public var leftOut: [String]
        /// Hand-written Envoy resources to add to the groups (`--raw`).
        public var raw: [RawResource] = []
        public var digest: String
    }

    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var warnings: [String]
        /// Every certificate that can be served, including last good versions kept: the next load's `lastGood`.
        public var certificates: [String: CertificateBundle]
        /// What was left out for want of a usable certificate.
        public var skipped: [CertificateSelection.Skipped]
        /// One line per element of `skipped`, naming the cause (also the last lines of `warnings`).
        public var leftOut: [String]
        /// Names served from their last good version while their files are broken or gone, with the current problem.
        public var kept: [String: CertificateError]
        /// Names present but unusable with no last good version: what needs them was left out.
        public var broken: [String: CertificateError]
        /// Names worth retrying soon: a renewal may be half-way.
        public var waitingForRepair: Set<String> { Set(kept.keys) }
        public var inputDigest: String
    }

    /// All four stages.
    public static func load(
        configPath: String, certsPath: String, rawPath: String? = nil, lastGood: [String: CertificateBundle] = [:],
        limits: Limits = Limits(), now: Date = Date()
    ) throws(LoadError) -> Result {
        try build(
            read(
                configPath: configPath, certsPath: certsPath, rawPath: rawPath, lastGood: lastGood, limits: limits,
                now: now),
            lastGood: lastGood, now: now)
    }

    /// Stages 2 to 4, on what `read` returned.
    public static func build(
        _ inputs: Inputs, lastGood: [String: CertificateBundle] = [:],
        now: Date = Date()
    ) throws(LoadError) -> Result {
        let validated = try validate(inputs, lastGood: lastGood, now: now)
        let (translated, notes) = translateNoting(validated)
        let snapshot = try snapshot(translated, raw: validated.raw).with(identities: validated.config.identities)
        let scan = validated.certificates
        return Result(
            snapshot: snapshot, warnings: validated.warnings + notes, certificates: scan.bundles,
            skipped: validated.skipped, leftOut: validated.leftOut, kept: scan.kept, broken: scan.broken,
            inputDigest: inputs.digest)
    }

    // MARK: Stage 1: read

    /// Reads the routes file (refusing anything but a regular file within the size cap) and scans the certificates.
    public static func read(
        configPath: String, certsPath: String, rawPath: String? = nil, lastGood: [String: CertificateBundle] = [:],
        limits: Limits = Limits(), now: Date = Date()
    ) throws(LoadError) -> Inputs {
        let routes = try readRoutes(configPath, limits: limits)
        let raw = try rawPath.map { path throws(LoadError) in try readRaw(path, limits: limits) } ?? []
        let scan = CertificateDirectory.scan(path: certsPath, now: now, lastGood: lastGood)
        var digest = SHA256()
        digest.update(data: routes)
        for file in raw {
            digest.update(data: Array("\0raw\0\(file.path)\0\(file.bytes.count)\0".utf8))
            digest.update(data: file.bytes)
        }
        digest.update(data: Array(scan.contentDigest.utf8))
        let hex = digest.finalize().map { String(format: "%02x", $0) }.joined()
        return Inputs(configPath: configPath, routesText: routes, certificates: scan, rawFiles: raw, digest: hex)
    }

    /// The routes file's bytes; an empty file is an empty routes file.
    public static func readRoutes(_ path: String, limits: Limits = Limits()) throws(LoadError) -> [UInt8] {
        switch InputFile.read(path, limit: limits.maxConfigBytes) {
        case .success(let contents): return contents.bytes
        case .failure(let failure) where failure.kind == .empty: return []
        case .failure(let failure): throw .unreadable(path: path, failure)
        }
    }

    // MARK: Stage 2: validate

    /// The routes file's own rules (with positions), then the certificates: what cannot be served is left out.
    public static func validate(
        _ inputs: Inputs, lastGood: [String: CertificateBundle] = [:],
        now: Date = Date()
    ) throws(LoadError) -> Validated {
        let config = try parseRoutes(inputs.routesText, path: inputs.configPath)
        let raw = try parseRaw(inputs.rawFiles, groups: config.groups)
        var scan = inputs.certificates
        // Kept and expired certificates get their own, louder lines below.
        let keptProblems = Set(scan.kept.values.map(\.description))
        var warnings = scan.errors.filter { $0.code != .expired && !keptProblems.contains($0.description) }
            .map(\.description)

        // A referenced certificate whose folder is gone for now (renamed away, being replaced) keeps its last version.
        for name in referencedCertificates(config) where scan.bundles[name] == nil && scan.broken[name] == nil {
            if let previous = lastGood[name] {
                scan.bundles[name] = previous
                scan.kept[name] = .folderGone(
                    previous.certificateFile.isEmpty
                        ? name : (previous.certificateFile as NSString).deletingLastPathComponent)
            }
        }
        for (name, problem) in scan.kept.sorted(by: { $0.key < $1.key }) {
            warnings.append(
                "certificate \"\(name)\": \(problem); serving its last good version "
                    + "(serial \(scan.bundles[name]?.serialNumber ?? "?"))")
        }
        for bundle in scan.bundles.values.sorted(by: { $0.name < $1.name }) where bundle.isExpired(at: now) {
            warnings.append(
                "EXPIRED: certificate \"\(bundle.name)\" expired on \(Timestamp.text(bundle.notAfter)); "
                    + "still served, renew it")
        }

        let (services, problems) = services(in: scan.descriptorSets)
        let (usable, skipped) = CertificateSelection.apply(
            config, usable: Set(scan.bundles.keys), usableAuthorities: Set(scan.authorities.keys),
            usableUserLists: Set(scan.userLists.keys), usableServices: services)
        let leftOut = skipped.map { item in
            item.descriptors
                ? descriptorProblem(item, config: config, scan: scan, services: services, problems: problems)
                : explain([item], config: config, scan: scan)[0]
        }
        warnings += leftOut
        return Validated(
            config: usable, certificates: scan, warnings: warnings, skipped: skipped, leftOut: leftOut, raw: raw,
            digest: inputs.digest)
    }

    /// The routes file alone: YAML, schema and cross-references, every error with its file:line:col.
    public static func parseRoutes(_ text: [UInt8], path: String) throws(LoadError) -> RoutesConfig {
        do {
            return try RoutesFile.parse(String(decoding: text, as: UTF8.self), file: path)
        } catch {
            throw .invalid(error)
        }
    }

    // MARK: Stage 3: translate (pure)

    /// Envoy resources for every group, once per config-source mode, raw resources included.
    public static func translate(_ validated: Validated) -> [ConfigSourceMode: [String: GroupResources]] {
        translateNoting(validated).translated
    }

    /// `translate`, with one note per raw resource that the routes file overrides.
    static func translateNoting(_ validated: Validated) -> (
        translated: [ConfigSourceMode: [String: GroupResources]], notes: [String]
    ) {
        var translated: [ConfigSourceMode: [String: GroupResources]] = [:]
        var notes: [String] = []
        // All modes in one call, so what does not depend on the mode is built once and shared.
        let declarativeByMode = Translator.translate(
            validated.config, certificates: validated.certificates.bundles,
            modes: ConfigSourceMode.allCases, authorities: validated.certificates.authorities,
            userLists: validated.certificates.userLists,
            descriptors: validated.certificates.descriptorSets.mapValues(\.bytes))
        for mode in ConfigSourceMode.allCases {
            let merged = RawMerge.merge(
                declarativeByMode[mode] ?? [:], raw: validated.raw, config: validated.config,
                certificates: validated.certificates.bundles, authorities: validated.certificates.authorities,
                mode: mode)
            translated[mode] = merged.groups
            notes = merged.notes
        }
        return (translated, notes)
    }

    // MARK: Stage 4: snapshot (pure)

    /// Encodes every resource once and checks that every reference resolves. A raw resource that refers to
    /// something its group lacks is reported at its own file:line:col, as a mistake in that file.
    public static func snapshot(_ translated: [ConfigSourceMode: [String: GroupResources]], raw: [RawResource] = [])
        throws(LoadError) -> Snapshot
    {
        do {
            return try Snapshot.build(translated.mapValues { $0.mapValues(\.resources) })
        } catch {
            if case .dangling(let group, let fromType, let fromName, let type, let name) = error,
                let source = raw.first(where: {
                    $0.type == fromType && $0.name == fromName && ($0.groups?.contains(group) ?? true)
                })
            {
                throw .invalid(
                    ConfigErrors([
                        .rawResource(
                            at: source.position, key: "resources",
                            message:
                                "\(source.label) refers to \(type.rawValue) \"\(name)\", which group \"\(group)\" "
                                + "does not hold",
                            hint:
                                type == .secret
                                ? "certificates come from the certificate directory: is its folder there, and "
                                    + "usable (see the warnings)?"
                                : "define it in a raw file for this group, or in the routes file")
                    ]))
            }
            throw .inconsistent(error)
        }
    }
}
