/// "Did you mean …?" for typos in keys and names.
public enum Suggest {
    /// The candidate nearest to `word` by edit distance, when it is close enough to be a plausible typo.
    ///
    /// Close enough: at most a third of the word's length (at least 1, at most 3) edits, or a match ignoring case
    /// and `-`/`_`. Ties go to the earlier candidate so the answer is deterministic.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        guard !word.isEmpty else { return nil }
        let folded = fold(word)
        if let same = candidates.first(where: { fold($0) == folded && $0 != word }) { return same }
        // An abbreviation (`cert` for `certificate`): only when exactly one candidate starts with it.
        let longer = candidates.filter { $0 != word && folded.count >= 3 && fold($0).hasPrefix(folded) }
        if longer.count == 1 { return longer[0] }
        let limit = min(3, max(1, word.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let distance = editDistance(word, candidate, limit: limit)
            if distance <= limit, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    /// Levenshtein distance with transpositions counted as one edit (optimal string alignment).
    /// Returns `limit + 1` early when the lengths alone rule out a match.
    static func editDistance(_ a: String, _ b: String, limit: Int = Int.max) -> Int {
        let x = Array(a.lowercased().unicodeScalars)
        let y = Array(b.lowercased().unicodeScalars)
        if abs(x.count - y.count) > limit { return limit == Int.max ? abs(x.count - y.count) : limit + 1 }
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous2 = [Int](repeating: 0, count: y.count + 1)
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    value = min(value, previous2[j - 2] + 1)
                }
                current[j] = value
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[y.count]
    }

    private static func fold(_ text: String) -> String {
        String(text.lowercased().unicodeScalars.filter { $0 != "-" && $0 != "_" }.map(Character.init))
    }
}
