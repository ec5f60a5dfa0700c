import ArgumentParser
import Foundation
import NIOCore
import Operations

/// `chancery status diff A B`: what changed between two snapshot versions, from the admin's bounded `/history`.
struct StatusDiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two snapshot versions kept in the admin endpoint's history.",
        discussion: "Exit codes: 0 shown, 1 a version is not in history (it keeps the last 50), 2 admin unreachable.")

    @OptionGroup var admin: AdminClientOptions

    @Argument(help: "The older snapshot version (see /history or /status).")
    var from: String

    @Argument(help: "The newer snapshot version.")
    var to: String

    func run() async throws {
        let client = try admin.client()
        let history: [HistoryRecord]
        do {
            let reply = try await fetchJSON(client, "/history")
            do {
                history = try HistoryRecord.decode(Data(reply.body.readableBytesView))
            } catch {
                throw AdminUnreachable(description: "\(client.address): \(error.description)")
            }
        } catch {
            throw adminFailure(error)
        }
        switch HistoryDiff.between(from, to, in: history) {
        case .success(let diff):
            print(diff.render(from: from, to: to), terminator: "")
        case .failure(let missing):
            printError("chancery status diff: \(missing.description)")
            throw ExitCode(1)
        }
    }
}
