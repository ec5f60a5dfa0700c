import Testing

@Test func placeholderGRPCServerTests() { #expect(1 + 1 == 2) }
