import Testing

@Test func placeholderChanceryTests() { #expect(1 + 1 == 2) }
