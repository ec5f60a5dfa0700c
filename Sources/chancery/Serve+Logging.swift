import ArgumentParser
import Logging

/// `chancery serve --log-format`: plain text for a terminal or journald, JSON lines for a log shipper.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Log line format: text (default) or json (one JSON object per line on standard error).")
    var logFormat: Format = .text

    /// The server's logger at `level`, writing in the chosen format to standard error.
    func makeLogger(level: Logger.Level) -> Logger {
        var logger: Logger
        switch logFormat {
        case .text:
            logger = Logger(label: "chancery")  // swift-log's own text lines on standard error
        case .json:
            logger = Logger(label: "chancery") { JSONLogHandler(label: $0) }
        }
        logger.logLevel = level
        return logger
    }
}
