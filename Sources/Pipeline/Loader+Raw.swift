import Certs
import Config
import Foundation
import RawResources

/// A raw resource file as read from the `--raw` directory.
public struct RawFile: Sendable {
    public var path: String
    public var bytes: [UInt8]
}

extension Loader {
    /// File names read from a raw resource directory; anything else in it (a README, an editor's backup) is skipped.
    static let rawExtensions = [".yaml", ".yml", ".json"]

    /// Every raw resource file in `directory`, in name order. Dot files are skipped (Kubernetes' `..data`, editors'
    /// swap files); each file is read like the routes file: a regular file (or a link to one) within the size cap.
    public static func readRaw(_ directory: String, limits: Limits = Limits()) throws(LoadError) -> [RawFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw .rawUnreadable(
                path: directory, reason: "not a directory (--raw names a directory of .yaml/.json files)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .rawUnreadable(path: directory, reason: "the directory cannot be listed")
        }
        var files: [RawFile] = []
        var total = 0
        for name in names.sorted()
        where !name.hasPrefix(".") && rawExtensions.contains(where: { name.hasSuffix($0) }) {
            let path = (directory as NSString).appendingPathComponent(name)
            switch InputFile.read(path, limit: limits.maxConfigBytes) {
            case .success(let contents):
                total += contents.bytes.count
                guard total <= limits.maxConfigBytes else {
                    throw .rawUnreadable(
                        path: path, reason: "the raw resource files together exceed \(limits.maxConfigBytes) bytes")
                }
                files.append(RawFile(path: path, bytes: contents.bytes))
            case .failure(let failure) where failure.kind == .empty:
                files.append(RawFile(path: path, bytes: []))
            case .failure(let failure):
                throw .rawUnreadable(path: path, reason: failure.reason)
            }
        }
        return files
    }

    /// Parses every raw file and checks what needs the routes file: groups that exist, one definition per name in a
    /// group. Every problem is reported, with its file:line:col.
    public static func parseRaw(_ files: [RawFile], groups: [String]) throws(LoadError) -> [RawResource] {
        var errors: [ConfigError] = []
        var resources: [RawResource] = []
        for file in files {
            do {
                resources += try RawResourceFile.parse(bytes: file.bytes, file: file.path)
            } catch {
                errors += error.errors
            }
        }
        errors += RawResourceFile.check(resources, groups: groups)
        guard errors.isEmpty else { throw .invalid(ConfigErrors(errors)) }
        return resources
    }
}
