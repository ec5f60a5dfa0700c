import NIOCore
import Testing

@testable import GRPCServer

@Suite("gRPC framing, status encoding, timeouts")
struct GRPCFramingTests {
    @Test func deframerReassemblesAcrossChunks() throws {
        var deframer = GRPCMessageDeframer(maxMessageBytes: 100)
        let wire =
            GRPCFraming.frame([1, 2, 3], allocator: .init()).readableBytesView
            + GRPCFraming.frame([], allocator: .init()).readableBytesView
        var messages: [[UInt8]] = []
        for byte in wire {
            deframer.append(ByteBuffer(bytes: [byte]))
            while let message = try deframer.next() { messages.append(message) }
        }
        #expect(messages == [[1, 2, 3], []])
        #expect(!deframer.hasPartialMessage)
    }

    @Test func deframerRejectsOversizeBeforeBuffering() {
        var deframer = GRPCMessageDeframer(maxMessageBytes: 10)
        deframer.append(ByteBuffer(bytes: [0, 0, 0, 0, 11]))
        #expect(throws: GRPCStatus.resourceExhausted("received message larger than max (11 vs. 10)")) {
            try deframer.next()
        }
    }

    @Test func deframerRejectsCompressedFlag() {
        var deframer = GRPCMessageDeframer(maxMessageBytes: 10)
        deframer.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 9]))
        do {
            _ = try deframer.next()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unimplemented)
        }
    }

    @Test func partialMessageIsReported() throws {
        var deframer = GRPCMessageDeframer(maxMessageBytes: 10)
        deframer.append(ByteBuffer(bytes: [0, 0, 0]))
        #expect(try deframer.next() == nil)
        #expect(deframer.hasPartialMessage)
    }

    @Test func grpcMessagePercentEncoding() {
        #expect(GRPCStatus.percentEncode("a b%c") == "a b%25c")
        #expect(GRPCStatus.percentEncode("é\n") == "%C3%A9%0A")
        #expect(GRPCStatus.percentDecode("%C3%A9%0Ax%2") == "é\nx%2")
        let long = String(repeating: "x", count: 10_000)
        #expect(GRPCStatus.percentEncode(long).utf8.count == GRPCStatus.maxMessageBytes)
    }

    /// Non-ASCII triples in size when encoded: the limit holds on the wire, and no escape is cut in half.
    @Test func encodedMessageStaysUnderTheLimitForNonASCII() {
        let encoded = GRPCStatus.percentEncode(String(repeating: "é", count: 5_000))
        #expect(encoded.utf8.count <= GRPCStatus.maxMessageBytes)
        #expect(encoded.utf8.count > GRPCStatus.maxMessageBytes - 3)
        #expect(encoded.hasSuffix("%A9") || encoded.hasSuffix("%C3"))
        #expect(GRPCStatus.percentDecode(encoded).unicodeScalars.allSatisfy { $0 == "é" || $0 == "\u{FFFD}" })
    }

    @Test(arguments: [
        ("1H", Duration.seconds(3600)), ("2M", .seconds(120)), ("3S", .seconds(3)), ("250m", .milliseconds(250)),
        ("7u", .microseconds(7)), ("99999999n", .nanoseconds(99_999_999)),
    ])
    func timeoutParsing(value: String, expected: Duration) {
        #expect(GRPCFraming.parseTimeout(value) == expected)
    }

    @Test(arguments: ["", "S", "123456789S", "10x", "-1S", "1.5S"])
    func malformedTimeouts(value: String) {
        #expect(GRPCFraming.parseTimeout(value) == nil)
    }
}
