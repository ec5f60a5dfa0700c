import Testing

@testable import Certs

/// `htpasswd` files for basic auth: `{SHA}` lines only, messages that never repeat a hash.
@Suite("Basic-auth user lists")
struct UserListTests {
    static func parse(_ text: String) -> Result<UserList, CertificateError> {
        UserList.parse(name: "admins", bytes: Array(text.utf8), path: "certs/admins/htpasswd")
    }

    @Test func shaLinesCommentsAndBlankLines() throws {
        let list = try Self.parse(
            "# admins\nalice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\r\n\nbob:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        ).get()
        #expect(list.users == ["alice", "bob"])
        #expect(list.text == "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\nbob:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
        #expect(list.contentDigest.count == 64)
    }

    @Test(arguments: [
        ("alice:$apr1$abc$0123456789abcdefghij.\n", "line 1 (user \"alice\") is not a {SHA} hash", "$apr1$"),
        ("alice:$2y$05$0123456789012345678901uvwxyzABCDEFGHIJKLMNOPQRSTU\n", "htpasswd -s", "$2y$05$"),
        ("alice:secret\n", "is not a {SHA} hash", "secret"),
        ("# only a comment\n", "lists no user", "#"),
        ("alice\n", "line 1 is not user:hash", "alice\n"),
        ("alice:{SHA}c2hvcnQ=\n", "has a {SHA} hash that is not 20 bytes", "c2hvcnQ="),
        ("a b:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "spaces", "AAAA"),
        (
            "alice:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nalice:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "line 2: user \"alice\" is listed twice", "AAAA"
        ),
    ])
    func refusedWithAReasonThatHidesTheHash(text: String, reason: String, secret: String) {
        guard case .failure(let error) = Self.parse(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(error.code == .invalidUsers)
        #expect(error.description.contains(reason), "\(error)")
        #expect(!error.reason.contains(secret), "\(error)")
    }

    @Test func notUTF8() {
        guard case .failure(let error) = UserList.parse(name: "x", bytes: [0xff, 0xfe, 0x3a], path: "p") else {
            Issue.record("accepted")
            return
        }
        #expect(error.reason == "is not UTF-8 text")
    }
}
