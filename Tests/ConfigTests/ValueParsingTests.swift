import Testing

@testable import Config

@Suite("Durations, addresses and suggestions")
struct ValueParsingTests {
    @Test(arguments: [
        ("0s", Duration.zero), ("500ms", .milliseconds(500)), ("2s", .seconds(2)), ("1m", .seconds(60)),
        ("1h", .seconds(3600)), ("1m30s", .seconds(90)), ("1h2m3s4ms", .seconds(3723) + .milliseconds(4)),
        ("1500ms", .milliseconds(1500)),
    ])
    func durations(_ text: String, _ expected: Duration) throws {
        #expect(try DurationText.parse(text).get() == expected)
    }

    @Test(arguments: ["", "5", "s", "1.5s", "1d", "30s1m", "1s1s", "-1s", "1 s", "9999999999999s", "876001h"])
    func badDurations(_ text: String) {
        #expect(throws: DurationText.Failure.self) { try DurationText.parse(text).get() }
    }

    @Test func ipAddresses() {
        for good in [
            "0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::1:2:3:4",
            "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1", "1:2:3:4:5:6:1.2.3.4", "1::",
        ] {
            #expect(AddressText.isIP(good), "\(good)")
        }
        for bad in [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.a", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3",
            "12345::", "g::1", "localhost", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3",
        ] {
            #expect(!AddressText.isIP(bad), "\(bad)")
        }
    }

    @Test func hostNames() {
        #expect(AddressText.isHostName("backend"))
        #expect(AddressText.isHostName("db-1.internal."))
        #expect(!AddressText.isHostName("-bad.example"))
        #expect(!AddressText.isHostName("a..b"))
        #expect(!AddressText.isHostName("10.0.0.256"))
        #expect(!AddressText.isHostName(String(repeating: "a", count: 64) + ".com"))
    }

    @Test func domains() {
        for good in ["*", "example.com", "*.example.com", "*-api.example.com", "api.*", "example.com:8443"] {
            #expect(AddressText.domainProblem(good) == nil, "\(good)")
        }
        for bad in ["a.*.com", "*.*", "ex ample.com", "https://example.com", "example.com/path"] {
            #expect(AddressText.domainProblem(bad) != nil, "\(bad)")
        }
    }

    @Test func suggestions() {
        #expect(Suggest.closest(to: "wwww", in: ["www", "dav", "dl"]) == "www")
        #expect(Suggest.closest(to: "adress", in: RoutesDecoder.listenerKeys) == "address")
        #expect(Suggest.closest(to: "redirect-to-https", in: RoutesDecoder.listenerKeys) == "redirect_to_https")
        #expect(Suggest.closest(to: "certifcate", in: RoutesDecoder.tlsKeys) == "certificate")
        #expect(Suggest.closest(to: "zzzzzz", in: ["www", "dav"]) == nil)
        #expect(Suggest.closest(to: "x", in: []) == nil)
        #expect(Suggest.editDistance("kitten", "sitting") == 3)
        #expect(Suggest.editDistance("ab", "ba") == 1)
    }
}
