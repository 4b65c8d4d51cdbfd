import Testing

@testable import RequestValidation

@Suite struct ImagePolicyTests {
    static func allows(_ image: String, _ policy: ImagePolicy) -> Bool {
        (try? policy.check(image)) != nil
    }

    @Test func emptyAllowListAllowsAnyValidImage() {
        #expect(Self.allows("anything/at:all", ImagePolicy()))
        #expect(!Self.allows("bad image", ImagePolicy()))
    }

    @Test func hostEntryMatchesAtASlashBoundaryOnly() {
        let policy = ImagePolicy(allowed: ["registry.example.com"])
        #expect(Self.allows("registry.example.com/x:1", policy))
        #expect(Self.allows("registry.example.com/team/x", policy))
        #expect(!Self.allows("registry.example.com.evil.io/x", policy))
        #expect(!Self.allows("registry.example.comx/x", policy))
        #expect(!Self.allows("evil.io/registry.example.com/x", policy))
    }

    @Test func repositoryPathEntries() {
        let policy = ImagePolicy(allowed: ["registry.example.com/team/", "localhost:5000", "docker.io/library"])
        #expect(Self.allows("registry.example.com/team/app", policy))
        #expect(!Self.allows("registry.example.com/team-b/app", policy))
        #expect(!Self.allows("registry.example.com/other", policy))
        #expect(Self.allows("localhost:5000/app", policy))
        #expect(!Self.allows("localhost:5001/app", policy))
        #expect(Self.allows("busybox:latest", policy))
        #expect(!Self.allows("someone/busybox", policy))
    }

    @Test func shortNamesMatchAsWritten() {
        let policy = ImagePolicy(allowed: ["cloud-worker"])
        #expect(Self.allows("cloud-worker/sample-job:latest", policy))
        #expect(!Self.allows("cloud-worker-evil/sample-job", policy))
    }

    @Test func digestCanBeRequired() throws {
        let policy = ImagePolicy(requireDigest: true)
        let error = try #require(throws: RequestRejection.self) { try policy.check("app:1") }
        #expect(error.field == "image")
        #expect(error.reason.contains("digest"))
        #expect(Self.allows("app@sha256:" + String(repeating: "0", count: 64), policy))
    }
}
