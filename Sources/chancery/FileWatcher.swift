#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging

/// Watches the routes file and the cert directory with inotify and calls `onChange` once per burst of events.
///
/// Editors save by renaming a new file over the old one, and Kubernetes swaps a secret by re-pointing the `..data`
/// symlink, so whole directories are watched (the routes file's directory, the cert directory and each certificate's
/// directory), and a burst of events within `debounce` becomes one reload.
final class FileWatcher: @unchecked Sendable {
    private let fd: Int32
    private let paths: [String]
    private let queue = DispatchQueue(label: "chancery.watcher")
    private let source: DispatchSourceRead
    private let debounce: DispatchTimeInterval
    private let onChange: @Sendable () -> Void
    private let logger: Logger
    private var watched: [String: Int32] = [:]
    private var pending = false

    init(paths: [String], debounce: DispatchTimeInterval = .milliseconds(100), logger: Logger,
         onChange: @escaping @Sendable () -> Void) throws {
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

    /// The directories to watch now: a file's directory, a directory and its immediate subdirectories.
    private func directories() -> [String] {
        var result: [String] = []
        let files = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
                result.append((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
                continue
            }
            if isDirectory.boolValue {
                result.append(path)
                for entry in (try? files.contentsOfDirectory(atPath: path)) ?? [] where !entry.hasPrefix("..") {
                    let child = path + "/" + entry
                    var childIsDirectory: ObjCBool = false
                    if files.fileExists(atPath: child, isDirectory: &childIsDirectory), childIsDirectory.boolValue {
                        result.append(child)
                    }
                }
            } else {
                let parent = (path as NSString).deletingLastPathComponent
                result.append(parent.isEmpty ? "." : parent)
                // A routes file that is a link into another directory (a mounted ConfigMap): watch the target's too.
                let target = (path as NSString).resolvingSymlinksInPath
                if target != path {
                    result.append((target as NSString).deletingLastPathComponent)
                }
            }
        }
        return result
    }

    private func refreshWatches() {
        let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF)
        for directory in directories() where watched[directory] == nil {
            let wd = inotify_add_watch(fd, directory, mask)
            if wd >= 0 {
                watched[directory] = wd
            } else {
                logger.warning("cannot watch directory", metadata: ["path": "\(directory)", "errno": "\(errno)"])
            }
        }
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var sawEvent = false
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            sawEvent = true
        }
        guard sawEvent, !pending else { return }
        pending = true
        queue.asyncAfter(deadline: .now() + debounce) { [weak self] in
            guard let self else { return }
            self.pending = false
            // Watches on replaced directories are gone; new certificate directories need one.
            self.watched = self.watched.filter { FileManager.default.fileExists(atPath: $0.key) }
            self.refreshWatches()
            self.onChange()
        }
    }
}

struct WatchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
