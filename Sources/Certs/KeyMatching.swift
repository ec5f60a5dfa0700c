import Crypto
import Foundation
import X509
import _CryptoExtras

/// Finds the private key in `tls.key`, parses it, and checks it belongs to the leaf certificate.
enum KeyMatching {
    enum Failure: Error {
        case noKey
        case encrypted
        case unsupported(String)
        case invalid(label: String)
    }

    /// The private key among `blocks`, parsed; `EC PARAMETERS` and certificates around it are ignored.
    static func privateKey(in blocks: [PEMBlock]) -> Result<Certificate.PrivateKey, Failure> {
        guard let block = blocks.first(where: { $0.label.hasSuffix("PRIVATE KEY") }) else {
            return .failure(.noKey)
        }
        if block.label.hasPrefix("ENCRYPTED ") { return .failure(.encrypted) }
        guard ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"].contains(block.label) else {
            return .failure(.unsupported("\"\(block.label)\" keys are not supported"))
        }
        do {
            if block.label == "PRIVATE KEY" {
                return .success(try Certificate.PrivateKey(derBytes: block.der))
            }
            // SEC1 and PKCS#1 go through swift-certificates' PEM entry point, which knows both layouts.
            let pem = "-----BEGIN \(block.label)-----\n\(base64Lines(block.der))-----END \(block.label)-----\n"
            return .success(try Certificate.PrivateKey(pemEncoded: pem))
        } catch {
            // The library's message is not shown: parse errors should never be a channel for key material.
            if String(describing: error).contains("unknown algorithm") {
                return .failure(.unsupported("the key algorithm is not supported"))
            }
            return .failure(.invalid(label: block.label))
        }
    }

    /// Whether `key` is the private half of `certificate`'s public key.
    static func matches(_ key: Certificate.PrivateKey, _ certificate: Certificate) -> Bool {
        key.publicKey == certificate.publicKey
    }

    private static func base64Lines(_ der: [UInt8]) -> String {
        let encoded = Array(Data(der).base64EncodedString().utf8)
        var text = ""
        var index = 0
        while index < encoded.count {
            let end = min(index + 64, encoded.count)
            text += String(decoding: encoded[index..<end], as: UTF8.self) + "\n"
            index = end
        }
        return text
    }
}
