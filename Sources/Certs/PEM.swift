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

    static func blocks(in text: String) -> Result<[PEMBlock], Failure> {
        var blocks: [PEMBlock] = []
        var label: String?
        var body = ""
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let current = label {
                if line.hasPrefix("-----END ") {
                    guard let data = Data(base64Encoded: body), !data.isEmpty else {
                        return .failure(.badBase64(label: current, index: blocks.count))
                    }
                    blocks.append(PEMBlock(label: current, der: Array(data)))
                    label = nil
                    body = ""
                } else if line.contains(":") {
                    // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mark legacy encrypted keys; keep the label visible.
                    body = ""
                    label = current.hasPrefix("ENCRYPTED ") ? current : "ENCRYPTED " + current
                } else {
                    body += line
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----"), line.count > 16 {
                label = String(line.dropFirst(11).dropLast(5))
            }
        }
        if let label { return .failure(.unterminated(label: label)) }
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
