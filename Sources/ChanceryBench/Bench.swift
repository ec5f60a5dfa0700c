import ArgumentParser

/// Chancery's benchmarks, as a separate process: timing goals live here and in docs/BENCHMARKS.md, never as
/// assertions in tests.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChanceryBench",
        abstract: "Load-test Chancery against a reference server and the raw-socket limit; time snapshot builds.",
        subcommands: [LoadCommand.self, BuildCommand.self, RawServerCommand.self, HoldCommand.self])
}
