import Foundation

/// The outcome of scanning the certificate directory: what can be served, and what is wrong.
public struct CertificateScan: Sendable {
    /// Every certificate that can be served now, by name: fresh ones, expired ones (reported in `errors`), and last
    /// good versions kept for names whose current files are broken (listed in `kept`).
    public var bundles: [String: CertificateBundle] = [:]
    /// Every problem found, sorted by path: broken bundles, expired ones, a missing directory.
    public var errors: [CertificateError] = []
    /// Names whose files are broken now but whose last good version is still served, with the current problem.
    public var kept: [String: CertificateError] = [:]
    /// Names present in the directory that cannot be served at all (broken, no last good version).
    public var broken: [String: CertificateError] = [:]

    /// Client-certificate authorities (`DIR/NAME/ca.crt`) that parsed, by folder name.
    public var authorities: [String: TrustedAuthority] = [:]
    /// Folders whose `ca.crt` is present but broken (also listed in `errors`); their serving pair is unaffected.
    public var brokenAuthorities: [String: CertificateError] = [:]
    /// Basic-auth user lists (`DIR/NAME/htpasswd`) that parsed, by folder name.
    public var userLists: [String: UserList] = [:]
    /// Folders whose `htpasswd` is present but broken (also listed in `errors`).
    public var brokenUserLists: [String: CertificateError] = [:]
    /// Descriptor sets for gRPC-JSON transcoding (`DIR/NAME/descriptors.pb`), by folder name.
    public var descriptorSets: [String: DescriptorSet] = [:]
    public var brokenDescriptorSets: [String: CertificateError] = [:]

    public init() {}

    /// Whether a name is only being served from its last good version (a reload soon may find it fixed).
    public var isWaitingForRepair: Bool { !kept.isEmpty }

    /// Why `name` cannot be served: its own problem when it is present but broken, else nil (simply absent).
    public func problem(for name: String) -> CertificateError? { broken[name] }

    /// The whole directory is unusable (missing, unlistable): every last good bundle stays in force.
    mutating func keepLastGood(_ lastGood: [String: CertificateBundle], because error: CertificateError) {
        for (name, bundle) in lastGood {
            bundles[name] = bundle
            kept[name] = error
        }
    }

    /// A digest of everything served; equal digests mean nothing a proxy sees has changed.
    public var contentDigest: String {
        bundles.keys.sorted().map { "\($0)=\(bundles[$0]!.contentDigest)" }.joined(separator: ",")
            + ";" + authorities.keys.sorted().map { "\($0)=\(authorities[$0]!.contentDigest)" }.joined(separator: ",")
            + ";" + userLists.keys.sorted().map { "\($0)=\(userLists[$0]!.contentDigest)" }.joined(separator: ",")
            + ";"
            + descriptorSets.keys.sorted().map { "\($0)=\(descriptorSets[$0]!.contentDigest)" }
            .joined(separator: ",")
    }
}
