import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Watches the routes file and the cert directory with inotify and calls `onChange` once per burst of events.
///
/// Editors save by renaming a new file over the old one, Kubernetes swaps a secret by re-pointing the `..data`
/// symlink, and certbot re-points the links in `live/NAME/` at new files in `archive/NAME/`. So whole directories are
/// watched: the routes file's directory, the cert directory, each certificate's directory, and every directory a
/// link on the way to an input file passes through (however far outside the cert directory it lives).
///
/// inotify watches an inode, not a path: a certificate folder replaced by rename (old moved away, prepared one moved
/// in) keeps the same path but is a new directory. After every burst the watch list is rebuilt and any path whose
/// inode changed is watched afresh, so later renewals inside the new folder are seen too.
final class FileWatcher: @unchecked Sendable {
    /// One watched directory: the watch descriptor and the inode it was taken on.
    fileprivate struct Watch: Equatable {
        var wd: Int32
        var device: UInt64
        var inode: UInt64
    }

    /// Beyond this many directories, the rest are left to the periodic rescan (and a warning is logged).
    static let maximumWatches = 2048

    private let fd: Int32
    private let paths: [String]
    private let queue = DispatchQueue(label: "chancery.watcher")
    private let source: DispatchSourceRead
    private let debounce: DispatchTimeInterval
    private let onChange: @Sendable () -> Void
    private let logger: Logger
    fileprivate var watched: [String: Watch] = [:]
    private var pending = false

    init(
        paths: [String], debounce: DispatchTimeInterval = .milliseconds(100), logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError(message: "inotify_init1 failed: errno \(errno)") }
        self.paths = paths
        self.debounce = debounce
        self.onChange = onChange
        self.logger = logger
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        queue.sync { refreshWatches() }
        source.setEventHandler { [weak self] in self?.drain() }
        source.setCancelHandler { [fd] in close(fd) }
        source.resume()
    }

    func stop() {
        source.cancel()
    }

    /// Rebuilds the watch list now (SIGHUP and the periodic rescan call it, in case an event was missed).
    func refresh() {
        queue.async { self.refreshWatches() }
    }

    /// The directories currently watched (for tests and debugging).
    var watchedDirectories: [String] { queue.sync { watched.keys.sorted() } }

    /// The directories to watch now.
    private func directories() -> [String] {
        var result: [String] = []
        let files = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
                result.append(Self.parent(of: path))
                continue
            }
            guard isDirectory.boolValue else {
                result.append(contentsOf: Self.linkDirectories(path))
                continue
            }
            result.append(path)
            for entry in (try? files.contentsOfDirectory(atPath: path)) ?? [] where !entry.hasPrefix(".") {
                let child = path + "/" + entry
                var childIsDirectory: ObjCBool = false
                guard files.fileExists(atPath: child, isDirectory: &childIsDirectory) else { continue }
                guard childIsDirectory.boolValue else {
                    // A file directly in a watched directory (a raw resource file) may be a link elsewhere.
                    result.append(contentsOf: Self.linkDirectories(child).dropFirst())
                    continue
                }
                result.append(child)
                // The certificate folder may itself be a link (DIR/site → /etc/letsencrypt/live/site).
                let real = (child as NSString).resolvingSymlinksInPath
                if real != child { result.append(real) }
                for file in (try? files.contentsOfDirectory(atPath: child)) ?? [] where !file.hasPrefix(".") {
                    result.append(contentsOf: Self.linkDirectories(child + "/" + file).dropFirst())
                }
            }
        }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    /// The directory of `path`, then the directory of each link target on the way to the real file.
    static func linkDirectories(_ path: String) -> [String] {
        var result = [parent(of: path)]
        var current = path
        for _ in 0..<8 {  // a loop of links ends here
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { break }
            let next = target.hasPrefix("/") ? target : (parent(of: current) as NSString).appendingPathComponent(target)
            current = (next as NSString).standardizingPath
            let directory = (parent(of: current) as NSString).resolvingSymlinksInPath
            if !result.contains(directory) { result.append(directory) }
        }
        return result
    }

    private static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Watches every wanted directory, re-watches any whose inode changed, and drops the rest.
    private func refreshWatches() {
        let mask = UInt32(
            IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB
                | IN_DELETE_SELF | IN_MOVE_SELF)
        var wanted = directories()
        if wanted.count > Self.maximumWatches {
            logger.warning(
                "too many directories to watch; the rest rely on the periodic rescan",
                metadata: ["count": "\(wanted.count)"])
            wanted = Array(wanted.prefix(Self.maximumWatches))
        }
        var next: [String: Watch] = [:]
        for directory in wanted {
            var info = stat()
            guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
            if let old = watched[directory], old.device == device, old.inode == inode {
                next[directory] = old
                continue
            }
            let wd = inotify_add_watch(fd, directory, mask)
            if wd >= 0 {
                next[directory] = Watch(wd: wd, device: device, inode: inode)
            } else {
                logger.warning("cannot watch directory", metadata: ["path": "\(directory)", "errno": "\(errno)"])
            }
        }
        // A descriptor no wanted path uses any more (folder moved away, link re-pointed elsewhere) is released.
        let kept = Set(next.values.map(\.wd))
        for old in Set(watched.values.map(\.wd)) where !kept.contains(old) {
            inotify_rm_watch(fd, old)
        }
        watched = next
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var sawEvent = false
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            sawEvent = true
            forgetIgnored(buffer[0..<count])
        }
        guard sawEvent, !pending else { return }
        pending = true
        queue.asyncAfter(deadline: .now() + debounce) { [weak self] in
            guard let self else { return }
            self.pending = false
            self.refreshWatches()
            self.onChange()
        }
    }
}

extension FileWatcher {
    /// Drops watches the kernel has ended (IN_IGNORED: the directory was deleted), so a directory created later at
    /// the same path, even with a reused inode number, is watched afresh.
    fileprivate func forgetIgnored(_ events: ArraySlice<UInt8>) {
        func word(_ offset: Int) -> UInt32 {
            let base = events.startIndex + offset
            return UInt32(events[base]) | UInt32(events[base + 1]) << 8 | UInt32(events[base + 2]) << 16
                | UInt32(events[base + 3]) << 24
        }
        var offset = 0
        while offset + 16 <= events.count {
            let wd = Int32(bitPattern: word(offset))
            let mask = word(offset + 4)
            let length = Int(word(offset + 12))
            if mask & UInt32(IN_IGNORED) != 0 {
                watched = watched.filter { $0.value.wd != wd }
            }
            offset += 16 + length
        }
    }
}

struct WatchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
