/// Durations as written in the routes file: `0s`, `500ms`, `2s`, `1m`, `1h`, `1m30s`.
///
/// Units go from largest to smallest, each at most once, with whole numbers: a fraction (`1.5s`) or a bare
/// number (`30`) is refused rather than guessed, because a timeout off by a factor of 1000 is a quiet outage.
enum DurationText {
    struct Failure: Error, Equatable {
        let reason: String
    }

    private static let units: [(name: String, seconds: Int64, attoseconds: Int64)] = [
        ("h", 3600, 0), ("m", 60, 0), ("s", 1, 0), ("ms", 0, 1_000_000_000_000_000),
    ]
    /// Envoy's protobuf Duration tops out at 10,000 years; 100 years is plenty and keeps arithmetic far from overflow.
    private static let maximumSeconds: Int64 = 100 * 365 * 24 * 3600

    static func parse(_ text: String) -> Result<Duration, Failure> {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return .failure(Failure(reason: "is empty")) }
        var index = 0
        var lastUnit = -1
        var seconds: Int64 = 0
        var attoseconds: Int64 = 0
        while index < scalars.count {
            let digitsStart = index
            while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
            guard index > digitsStart else {
                return .failure(Failure(reason: "must start each part with a number"))
            }
            guard index - digitsStart <= 12,
                let number = Int64(String(String.UnicodeScalarView(scalars[digitsStart..<index])))
            else {
                return .failure(Failure(reason: "is too long"))
            }
            if index < scalars.count, scalars[index] == "." {
                return .failure(Failure(reason: "uses a fraction; use a smaller unit (1500ms, not 1.5s)"))
            }
            let unitStart = index
            while index < scalars.count, ("a"..."z").contains(scalars[index]) { index += 1 }
            let unitName = String(String.UnicodeScalarView(scalars[unitStart..<index]))
            guard !unitName.isEmpty else {
                return .failure(Failure(reason: "needs a unit (h, m, s or ms) after \(number)"))
            }
            guard let unit = units.firstIndex(where: { $0.name == unitName }) else {
                return .failure(Failure(reason: "has unknown unit \"\(unitName)\"; use h, m, s or ms"))
            }
            guard unit > lastUnit else {
                return .failure(Failure(reason: "repeats or reorders units; write larger units first, each once"))
            }
            lastUnit = unit
            let (partSeconds, overflow) = number.multipliedReportingOverflow(by: units[unit].seconds)
            guard !overflow, partSeconds <= maximumSeconds else {
                return .failure(Failure(reason: "is longer than 100 years"))
            }
            seconds += partSeconds
            if units[unit].attoseconds > 0 {
                seconds += number / 1000
                attoseconds += (number % 1000) * units[unit].attoseconds
            }
            guard seconds <= maximumSeconds else { return .failure(Failure(reason: "is longer than 100 years")) }
        }
        return .success(Duration(secondsComponent: seconds, attosecondsComponent: attoseconds))
    }
}
