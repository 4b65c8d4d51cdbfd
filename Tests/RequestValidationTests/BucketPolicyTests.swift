import Testing

@testable import RequestValidation

@Suite struct BucketPolicyTests {
    static let tenants = BucketPolicy(
        allowed: [BucketPattern("team-a-*"), BucketPattern("team-b-*"), BucketPattern("shared")],
        credentials: [
            BucketCredentials(pattern: BucketPattern("team-a-*"), secret: "team-a-s3"),
            BucketCredentials(pattern: BucketPattern("team-b-*"), secret: "team-b-s3"),
        ],
        defaultCredentialsSecret: "jobs-s3")

    @Test func allowedBucketsGetTheirTenantsSecret() throws {
        #expect(try Self.tenants.credentialsSecret(input: "team-a-in", output: "team-a-out") == "team-a-s3")
        #expect(try Self.tenants.credentialsSecret(input: "team-b-x", output: "team-b-x") == "team-b-s3")
        #expect(try Self.tenants.credentialsSecret(input: "shared", output: "shared") == "jobs-s3")
    }

    @Test func otherBucketsAreRefusedNamingTheField() throws {
        let input = try #require(throws: RequestRejection.self) {
            try Self.tenants.credentialsSecret(input: "team-c-in", output: "team-a-x")
        }
        #expect(input.field == "inputBucket")
        let output = try #require(throws: RequestRejection.self) { try Self.tenants.credentialsSecret(input: "team-a-in", output: "other") }
        #expect(output.field == "outputBucket")
    }

    @Test func bucketsOfTwoTenantsAreRefused() throws {
        let error = try #require(throws: RequestRejection.self) {
            try Self.tenants.credentialsSecret(input: "team-a-in", output: "team-b-out")
        }
        #expect(error.field == "outputBucket")
        #expect(!error.reason.contains("team-b-s3"), "a rejection does not name Secrets")
    }

    @Test func withoutConfigurationEveryValidBucketGetsTheDefaultSecret() throws {
        let open = BucketPolicy()
        #expect(try open.credentialsSecret(input: "any.bucket", output: "other-bucket") == BucketPolicy.standardCredentialsSecret)
    }

    @Test(arguments: ["ab", "Not_A_Bucket", "-bucket", "bucket.", String(repeating: "b", count: 64), "bück"])
    func invalidNamesAreRefused(_ name: String) throws {
        let error = try #require(throws: RequestRejection.self) { try BucketPolicy().credentialsSecret(input: name, output: "fine") }
        #expect(error.field == "inputBucket")
    }

    @Test(arguments: [
        ("team-a-*", "team-a-x", true), ("team-a-*", "team-a-", true), ("team-a-*", "team-b-x", false), ("*", "anything", true),
        ("a?c", "abc", true), ("a?c", "ac", false), ("*-logs", "x-y-logs", true), ("*-logs", "x-logs-y", false),
        ("exact", "exact", true), ("exact", "exactly", false), ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false),
    ])
    func patterns(_ pattern: String, _ name: String, _ matches: Bool) {
        #expect(BucketPattern(pattern).matches(name) == matches)
    }
}
