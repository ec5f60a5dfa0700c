/// `compression:` on an HTTP listener: `true` for the defaults, or the algorithms, minimum size and content types.
extension RoutesDecoder {
    static let compressionKeys = ["algorithms", "min_size", "content_types"]

    /// What a `compression` key said: `value` nil when absent or false. The whole result is nil after an error.
    struct CompressionSetting {
        var value: Compression?
    }

    func decodeCompression(_ map: MappingReader) -> CompressionSetting? {
        guard let value = map.value("compression") else { return CompressionSetting() }
        if value.node.mapping == nil {
            guard let on = reader.bool(value) else { return nil }
            return CompressionSetting(value: on ? Compression() : nil)
        }
        guard let entry = reader.mapping(value, place: "compression", allowed: Self.compressionKeys) else {
            return nil
        }
        entry.rejectUnknownKeys()
        var compression = Compression()
        var ok = true
        if let list = entry.value("algorithms") {
            let names = Compression.Algorithm.allCases.map(\.rawValue)
            let hint = "list some of \(names.joined(separator: ", ")), preferred first"
            guard let items = reader.stringList(list, emptyHint: hint) else { return nil }
            compression.algorithms = []
            for (text, item) in items {
                guard let algorithm = Compression.Algorithm(rawValue: text.lowercased()) else {
                    let guess =
                        Suggest.closest(to: text.lowercased(), in: names)
                        ?? (text.lowercased() == "br" ? "brotli" : nil)
                    reader.report(
                        .invalidValue(
                            at: item.position, key: item.path,
                            message: "compression algorithm \"\(text)\" is not one Envoy has",
                            hint: guess.map { "did you mean \"\($0)\"?" } ?? hint))
                    ok = false
                    continue
                }
                if compression.algorithms.contains(algorithm) {
                    reader.report(
                        .invalidValue(
                            at: item.position, key: item.path,
                            message: "compression algorithm \"\(text)\" is listed twice", hint: "list each once"))
                    ok = false
                    continue
                }
                compression.algorithms.append(algorithm)
            }
        }
        if let size = entry.value("min_size") {
            if let bytes = boundedInteger(size, 0...(64 << 20), what: "compression \"min_size\"") {
                compression.minSize = bytes
            } else {
                ok = false
            }
        }
        if let types = entry.value("content_types") {
            guard
                let items = reader.stringList(types, emptyHint: "list MIME types such as [text/html, application/json]")
            else { return nil }
            for (text, item) in items where !text.contains("/") || text.contains(" ") {
                reader.report(
                    .invalidValue(
                        at: item.position, key: item.path, message: "\"\(text)\" is not a content type",
                        hint: "write a MIME type such as text/html or application/json, without parameters"))
                ok = false
            }
            compression.contentTypes = items.map { $0.0.lowercased() }
        }
        return ok ? CompressionSetting(value: compression) : nil
    }
}
