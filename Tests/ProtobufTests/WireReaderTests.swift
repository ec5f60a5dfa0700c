import Protobuf
import Testing

/// The schema-less reader the xDS layer decodes every ACK with: it must read what the writers write, and refuse
/// (never trap on) what is not protobuf.
@Suite struct WireReaderTests {
    func fields(_ bytes: [UInt8]) throws -> [(Int, ProtoWireReader.Value)] {
        var reader = ProtoWireReader(bytes)
        var out: [(Int, ProtoWireReader.Value)] = []
        while let field = try reader.next() { out.append(field) }
        return out
    }

    @Test func readsEveryWireTypeTheWritersProduce() throws {
        var wire: [UInt8] = []
        ProtoWire.appendString(field: 1, "v1", to: &wire)
        ProtoWire.appendVarintField(field: 7, 300, to: &wire)
        ProtoWire.appendLengthDelimited(field: 536_870_911, [1, 2, 3], to: &wire)
        wire += [0x19] + [1, 0, 0, 0, 0, 0, 0, 0]  // field 3, fixed64 = 1
        wire += [0x25] + [2, 0, 0, 0]  // field 4, fixed32 = 2
        var reader = ProtoWireReader(wire)
        let first = try #require(try reader.next())
        #expect(first.field == 1)
        #expect(try reader.string(try #require(first.value.range)) == "v1")
        #expect(try reader.next()?.value.integer == 300)
        let big = try #require(try reader.next())
        #expect(big.field == 536_870_911)
        #expect(big.value.range.map { Array(wire[$0]) } == [1, 2, 3])
        guard case .fixed64(1)? = try reader.next()?.value else { Issue.record("fixed64"); return }
        guard case .fixed32(2)? = try reader.next()?.value else { Issue.record("fixed32"); return }
        #expect(try reader.next() == nil)
    }

    @Test(
        arguments: [
            [0x0a, 0x05, 0x61],  // length past the end
            [0x08, 0x80],  // truncated varint
            [0x00, 0x01],  // field number 0
            [0x0b, 0x0c],  // start group / end group
            [0x0f],  // wire type 7
            [0x08] + Array(repeating: 0xff, count: 10) + [0x01],  // varint over ten bytes
            [0x19, 1, 2, 3],  // truncated fixed64
        ] as [[UInt8]])
    func malformedInputIsAnErrorNotATrap(_ bytes: [UInt8]) {
        #expect(throws: ProtoError.self) { _ = try fields(bytes) }
    }

    @Test func invalidUTF8InAStringFieldIsRefused() throws {
        let wire: [UInt8] = [0x0a, 0x02, 0xc3, 0x28]
        var reader = ProtoWireReader(wire)
        let field = try #require(try reader.next())
        #expect(throws: ProtoError.self) { _ = try reader.string(field.value.range!) }
    }

    @Test func anEmbeddedRangeIsReadOnItsOwn() throws {
        var inner: [UInt8] = []
        ProtoWire.appendVarintField(field: 1, 13, to: &inner)
        ProtoWire.appendString(field: 2, "bad", to: &inner)
        var wire: [UInt8] = []
        ProtoWire.appendLengthDelimited(field: 6, inner, to: &wire)
        ProtoWire.appendString(field: 5, "after", to: &wire)
        var outer = ProtoWireReader(wire)
        let embedded = try #require(try outer.next()?.value.range)
        #expect(try fields(Array(wire[embedded])).count == 2)
        var nested = ProtoWireReader(wire, range: embedded)
        #expect(try nested.next()?.value.integer == 13)
        #expect(try nested.string(try #require(try nested.next()?.value.range)) == "bad")
        #expect(try nested.next() == nil)
        #expect(try outer.string(try #require(try outer.next()?.value.range)) == "after")
    }
}
