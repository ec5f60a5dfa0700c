import Testing

@Test func placeholderProtobufTests() { #expect(1 + 1 == 2) }
