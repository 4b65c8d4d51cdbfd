import Testing

@testable import RequestValidation

@Suite struct ImageReferenceTests {
    static let sha256 = "sha256:" + String(repeating: "a1", count: 32)

    @Test(arguments: [
        ("busybox", nil, "busybox", nil, nil),
        ("busybox:1.36", nil, "busybox", "1.36", nil),
        ("cloud-worker/sample-job:latest", nil, "cloud-worker/sample-job", "latest", nil),
        ("registry.example.com/team/app:v1_2.3-rc", "registry.example.com", "team/app", "v1_2.3-rc", nil),
        ("localhost:5000/app", "localhost:5000", "app", nil, nil),
        ("localhost/app", "localhost", "app", nil, nil),
        ("[::1]:5000/app:x", "[::1]:5000", "app", "x", nil),
        ("10.0.0.1:5000/a__b/c.d/e---f", "10.0.0.1:5000", "a__b/c.d/e---f", nil, nil),
        ("Registry.Example/app", "Registry.Example", "app", nil, nil),
        ("app@\(sha256)", nil, "app", nil, sha256),
        ("r.io/app:tag@\(sha256)", "r.io", "app", "tag", sha256),
    ])
    func parses(_ text: String, domain: String?, path: String, tag: String?, digest: String?) throws {
        let reference = try ImageReference(text)
        #expect(reference.domain == domain)
        #expect(reference.path == path)
        #expect(reference.tag == tag)
        #expect(reference.digest == digest)
    }

    @Test(arguments: [
        "", "bad image name", "app/UPPER", "r.io/Team/app", "app:", "app:-tag", "app:.tag", "app:" + String(repeating: "t", count: 129),
        "/app", "app/", "a//b", "-app", "app-", "a...b", "a_-b", "r.io:port/app", "r..io/app", "-r.io/app", "[zz]/app",
        "app@sha256:abc", "app@md5:" + String(repeating: "a", count: 32), "app@sha256:" + String(repeating: "A", count: 64),
        "app@@" + String(sha256.dropFirst()), "héllo", "app\n", String(repeating: "a", count: 256),
        "r.io/" + String(repeating: "a/", count: 200) + "a", String(repeating: "x", count: 10_000),
    ])
    func refuses(_ text: String) {
        #expect(throws: RequestRejection.self) { try ImageReference(text) }
    }

    @Test func rejectionNamesTheImageFieldAndQuotesShortly() throws {
        let error = try #require(throws: RequestRejection.self) { try ImageReference(String(repeating: "x", count: 10_000)) }
        #expect(error.field == "image")
        #expect(error.reason.count < 200, "\(error.reason)")
    }

    @Test func nameLengthLimitIs255() throws {
        _ = try ImageReference(String(repeating: "a", count: 255) + ":tag")
        #expect(throws: RequestRejection.self) { try ImageReference(String(repeating: "a", count: 256) + ":tag") }
    }

    @Test func fullNameSpellsOutDockerHub() throws {
        #expect(try ImageReference("busybox").fullName == "docker.io/library/busybox")
        #expect(try ImageReference("team/app:1").fullName == "docker.io/team/app")
        #expect(try ImageReference("r.io/app").fullName == "r.io/app")
    }
}
