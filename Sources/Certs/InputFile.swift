import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads an input file (the routes file, a certificate or key) without ever blocking and without reading more than a cap.
///
/// A FIFO or device planted where a certificate should be would block a plain `open()` forever and freeze every later
/// reload; a huge file would be read whole before being refused. So the path is checked with `stat` (following
/// links) before opening, opened with `O_NONBLOCK`, checked again with `fstat` on the open descriptor (the path may
/// have been swapped in between), and refused on its size before any byte is read.
public enum InputFile {
    /// Why a file was not read, for a person: the real cause, never a guess.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Hashable, Sendable { case missing, notRegular, tooLarge, empty, unreadable }
        public var kind: Kind
        public var reason: String
        public var description: String { reason }
    }

    /// What was read, and facts about the file for status pages.
    public struct Contents: Sendable {
        public var bytes: [UInt8]
        /// The path after following every symbolic link.
        public var resolvedPath: String
        public var modified: Date
    }

    /// Reads `path` if it is a regular file (or a link to one) of at most `limit` bytes.
    public static func read(_ path: String, limit: Int) -> Result<Contents, Failure> {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT {
                var linkInfo = stat()
                if lstat(path, &linkInfo) == 0 {
                    return .failure(Failure(kind: .missing, reason: "is a symbolic link to a file that does not exist"))
                }
                return .failure(Failure(kind: .missing, reason: "no such file"))
            }
            return .failure(Failure(kind: .unreadable, reason: String(cString: strerror(code))))
        }
        if let refusal = refusal(info, limit: limit) { return .failure(refusal) }

        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            let why = code == EACCES ? "permission denied" : String(cString: strerror(code))
            return .failure(Failure(kind: .unreadable, reason: why))
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? handle.close() }
        var opened = stat()
        guard fstat(fd, &opened) == 0 else {
            return .failure(Failure(kind: .unreadable, reason: String(cString: strerror(errno))))
        }
        if let refusal = refusal(opened, limit: limit) { return .failure(refusal) }

        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            return .failure(Failure(kind: .unreadable, reason: "\(error.localizedDescription)"))
        }
        // The file may have grown after fstat: the cap holds whatever the size said.
        if data.count > limit { return .failure(tooLarge(limit)) }
        if data.isEmpty { return .failure(Failure(kind: .empty, reason: "file is empty")) }
        let resolved = (path as NSString).resolvingSymlinksInPath
        let seconds = Double(opened.st_mtim.tv_sec) + Double(opened.st_mtim.tv_nsec) / 1e9
        return .success(
            Contents(
                bytes: Array(data), resolvedPath: resolved,
                modified: Date(timeIntervalSince1970: seconds)))
    }

    /// Whether a stat result names something we must not open or read, and why.
    static func refusal(_ info: stat, limit: Int) -> Failure? {
        let type = info.st_mode & S_IFMT
        if type != S_IFREG {
            return Failure(kind: .notRegular, reason: "is \(describe(type)), not a regular file")
        }
        if Int(info.st_size) > limit { return tooLarge(limit, size: Int(info.st_size)) }
        return nil
    }

    private static func tooLarge(_ limit: Int, size: Int? = nil) -> Failure {
        let sizeText = size.map { "\($0) bytes, " } ?? ""
        return Failure(kind: .tooLarge, reason: "file is too large (\(sizeText)limit \(limit) bytes)")
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }
}
