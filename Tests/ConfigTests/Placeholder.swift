import Testing

@Test func placeholderConfigTests() { #expect(1 + 1 == 2) }
