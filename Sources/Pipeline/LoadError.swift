import Certs
import Config
import Snapshot

/// Why a load published nothing. Kept typed until it is printed (CLI, log, `/status`), where `lines` renders it.
public enum LoadError: Error, Sendable, CustomStringConvertible {
    /// The routes file cannot be read: missing, not a regular file, over the size cap, unreadable.
    case unreadable(path: String, InputFile.Failure)
    /// The raw resource directory (`--raw`) or a file in it cannot be read.
    case rawUnreadable(path: String, reason: String)
    /// The routes file was read and has errors, each with its file:line:col.
    case invalid(ConfigErrors)
    /// The translated resources could not be encoded or do not hold together. Validation should make this
    /// impossible; it is the last guard before anything reaches a proxy.
    case inconsistent(SnapshotError)

    /// One line per problem, as printed.
    public var lines: [String] {
        switch self {
        case .unreadable(let path, let failure): return ["\(path): cannot read the routes file: \(failure.reason)"]
        case .rawUnreadable(let path, let reason): return ["\(path): cannot read raw resources: \(reason)"]
        case .invalid(let errors): return errors.errors.map(\.description)
        case .inconsistent(let error): return ["\(error)"]
        }
    }

    public var description: String { lines.joined(separator: "\n") }
}
