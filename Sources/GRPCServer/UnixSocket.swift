#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    import Darwin
#endif

/// The file-system side of serving xDS on a Unix domain socket: who may connect is decided by the socket file's
/// mode, so the file is created fresh (a socket left by a previous run is removed, anything else is refused) and
/// its mode set right after bind.
public enum UnixSocket {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Removes a socket file left at `path` by an earlier run; refuses to touch a regular file, a directory or a
    /// link (a typo in `--xds` must not delete data). `GRPCServer` first checks that no live server answers on it.
    public static func removeStale(_ path: String) throws(Failure) {
        guard path.utf8.count < 104 else {
            throw Failure(description: "socket path \"\(path)\" is too long (at most 103 bytes)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw Failure(description: "cannot inspect \"\(path)\": \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\"\(path)\" exists and is not a socket; refusing to replace it")
        }
        guard unlink(path) == 0 else {
            throw Failure(
                description: "cannot remove the stale socket \"\(path)\": \(String(cString: strerror(errno)))")
        }
    }

    /// Sets the socket file's permission bits (e.g. 0o660: owner and group may connect).
    public static func setMode(_ path: String, _ mode: UInt16) throws(Failure) {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw Failure(description: "cannot chmod \"\(path)\": \(String(cString: strerror(errno)))")
        }
    }

    /// Parses an octal mode such as `0660` or `660`; only permission bits are accepted.
    public static func parseMode(_ text: String) -> UInt16? {
        guard !text.isEmpty, text.count <= 4, let value = UInt16(text, radix: 8), value <= 0o777 else { return nil }
        return value
    }
}
