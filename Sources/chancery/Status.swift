import ArgumentParser
import Certs
import Foundation
import NIOCore
import Operations

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `chancery status`: the fleet at a glance from a terminal, and `status diff` between two snapshot versions.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every connected proxy and whether it took the current configuration.",
        discussion: """
            Exit codes: 0 every proxy is synced, 1 some proxy is stale or rejected (NACKED) its configuration, \
            2 the admin endpoint cannot be reached or answered an error. A --node or --group that matches no stream \
            exits 1. Flags: `chancery status fleet --help`.
            """,
        subcommands: [StatusFleet.self, StatusDiff.self],
        defaultSubcommand: StatusFleet.self)
}

/// Where the admin endpoint is and how to get in: shared by `status` and `status diff`.
struct AdminClientOptions: ParsableArguments {
    @Option(name: .customLong("admin"), help: "The admin endpoint, host:port (as given to `serve --admin`).")
    var address: String = "127.0.0.1:18001"

    @Option(help: "A file holding the admin bearer token (when serve runs with --admin-token-file).")
    var adminTokenFile: String?

    func client() throws -> AdminClient {
        var text = address
        if text.hasPrefix("http://") { text.removeFirst("http://".count) }
        if text.hasSuffix("/") { text.removeLast() }
        guard let (host, port) = splitHostPort(text) else { throw ValidationError("--admin must be host:port") }
        return AdminClient(host: host, port: port, token: try token())
    }

    private func token() throws -> String? {
        guard let adminTokenFile else { return nil }
        switch InputFile.read(adminTokenFile, limit: 4096) {
        case .failure(let failure):
            throw ValidationError("--admin-token-file: \(failure)")
        case .success(let contents):
            let token = String(decoding: contents.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw ValidationError("--admin-token-file: the file holds no usable token")
            }
            return token
        }
    }
}

/// Exits 2 with `error`'s message when the admin endpoint cannot answer; rethrows anything else.
func adminFailure(_ error: any Error) -> any Error {
    guard let error = error as? AdminUnreachable else { return error }
    printError("chancery status: \(error.description)")
    return ExitCode(2)
}

/// Reads an admin JSON page, turning a refusal into a message naming the address.
func fetchJSON(_ client: AdminClient, _ path: String) async throws -> AdminReply {
    let reply = try await client.get(path)
    switch reply.status.code {
    case 200:
        return reply
    case 401:
        throw AdminUnreachable(
            description: "the admin endpoint at \(client.address) wants a bearer token: give --admin-token-file FILE")
    default:
        let text = Operations.StatusTable.oneLine(String(buffer: reply.body), max: 200)
        throw AdminUnreachable(
            description: "the admin endpoint at \(client.address) answered \(reply.status.code) for \(path): \(text)")
    }
}

/// The default `status` subcommand: the table, once or every few seconds.
struct StatusFleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet", abstract: "The fleet table (what `chancery status` shows when no subcommand is given).")

    @OptionGroup var admin: AdminClientOptions

    @Option(help: "Only the streams of this node id.")
    var node: String?

    @Option(help: "Only the streams of this group.")
    var group: String?

    @Flag(help: "Redraw every SECONDS (default 2) until Ctrl-C.")
    var watch = false

    @Argument(help: "With --watch: seconds between redraws.")
    var seconds: Double?

    func validate() throws {
        guard let seconds else { return }
        guard watch else { throw ValidationError("a number of seconds goes with --watch (e.g. --watch 5)") }
        guard seconds >= 0.5, seconds <= 3600 else {
            throw ValidationError("--watch takes from 0.5 to 3600 seconds")
        }
    }

    func run() async throws {
        let client = try admin.client()
        let table = Operations.StatusTable(color: isatty(STDOUT_FILENO) == 1)
        guard watch else {
            let rows: [FleetRow]
            do {
                rows = try await fetchRows(client)
            } catch {
                throw adminFailure(error)
            }
            print(table.render(rows, now: Date()) + summary(rows), terminator: "")
            // Asked about a node or group that is not connected: not synced, for a deploy check's purposes.
            if rows.isEmpty && (node != nil || group != nil) { throw ExitCode(1) }
            throw ExitCode(FleetRow.exitCode(rows))
        }
        let interval = seconds ?? 2
        while true {
            var screen = table.color ? "\u{1B}[H\u{1B}[2J" : ""
            screen += "every \(interval)s, Ctrl-C to stop; \(client.address) at \(Date())\n\n"
            do {
                let rows = try await fetchRows(client)
                screen += table.render(rows, now: Date()) + summary(rows)
            } catch let error as AdminUnreachable {
                screen += "chancery status: \(error.description)\n"
            }
            // A closed stdout (`| head`) ends the watch instead of crashing on a broken pipe.
            do { try FileHandle.standardOutput.write(contentsOf: Data(screen.utf8)) } catch { return }
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    private func summary(_ rows: [FleetRow]) -> String {
        rows.isEmpty ? "" : Operations.StatusTable.summary(rows)
    }

    /// Every page of `/clients` matching the filters, following the `link` header (at most `maxPages`).
    private func fetchRows(_ client: AdminClient) async throws -> [FleetRow] {
        var query = ["limit=1000"]
        if let node { query.append("node=" + percentEncoded(node)) }
        if let group { query.append("group=" + percentEncoded(group)) }
        var next: String? = "/clients?" + query.joined(separator: "&")
        var streams: [ProxyStream] = []
        var pages = 0
        while let path = next, pages < Self.maxPages {
            let reply = try await fetchJSON(client, path)
            do {
                streams += try ProxyStream.decodePage(Data(reply.body.readableBytesView))
            } catch {
                throw AdminUnreachable(description: "\(client.address): \(error.description)")
            }
            next = ProxyStream.nextPage(link: reply.headers.first(name: "link"))
            pages += 1
        }
        return streams.map(FleetRow.init)
    }

    /// A million streams at a thousand a page.
    static let maxPages = 1000

    private func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
