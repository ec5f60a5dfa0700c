import Foundation

/// One `-----BEGIN LABEL----- … -----END LABEL-----` block.
///
/// A small reader of our own rather than swift-asn1's `PEMDocument`: key files from `openssl ecparam -genkey`
/// start with an `EC PARAMETERS` block, and we need to see every label to refuse keys inside `tls.crt`.
struct PEMBlock {
    var label: String
    var der: [UInt8]
}

enum PEM {
    enum Failure: Error, Equatable {
        case noBlocks
        case unterminated(label: String)
        case badBase64(label: String, index: Int)
    }

    /// Every block in `text`, found by its markers wherever they are: a file glued together without a newline
    /// (`-----END CERTIFICATE----------BEGIN PRIVATE KEY-----`) still shows every block it holds.
    static func blocks(in text: String) -> Result<[PEMBlock], Failure> {
        var blocks: [PEMBlock] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            let afterBegin = rest[begin.upperBound...]
            guard let labelEnd = afterBegin.range(of: "-----") else {
                return .failure(.unterminated(label: "?"))
            }
            var label = String(afterBegin[..<labelEnd.lowerBound])
            // Searched after the label's own "-----": in "-----BEGIN -----END X-----" they overlap, and slicing
            // between them would trap (found by FuzzCertificates).
            guard let end = afterBegin[labelEnd.upperBound...].range(of: "-----END ") else {
                return .failure(.unterminated(label: label))
            }
            let endLabelStart = end.upperBound
            guard let endLabelEnd = afterBegin[endLabelStart...].range(of: "-----"),
                afterBegin[endLabelStart..<endLabelEnd.lowerBound] == label
            else {
                return .failure(.unterminated(label: label))
            }
            var base64 = ""
            for line in afterBegin[labelEnd.upperBound..<end.lowerBound].split(whereSeparator: \.isNewline) {
                if line.contains(":") {
                    // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mark legacy encrypted keys.
                    if !label.hasPrefix("ENCRYPTED ") { label = "ENCRYPTED " + label }
                    continue
                }
                base64 += line.filter { !$0.isWhitespace }
            }
            guard let data = Data(base64Encoded: base64), !data.isEmpty else {
                return .failure(.badBase64(label: label, index: blocks.count))
            }
            blocks.append(PEMBlock(label: label, der: Array(data)))
            rest = afterBegin[endLabelEnd.upperBound...]
        }
        if blocks.isEmpty { return .failure(.noBlocks) }
        return .success(blocks)
    }

    static func describe(_ failure: Failure) -> String {
        switch failure {
        case .noBlocks: return "no PEM block found (expected -----BEGIN …-----)"
        case .unterminated(let label): return "PEM block \"\(label)\" has no END line"
        case .badBase64(let label, let index): return "PEM block #\(index + 1) (\"\(label)\") is not valid base64"
        }
    }
}
