import Testing

@testable import RequestValidation

@Suite struct EnvironmentNameTests {
    @Test(arguments: ["A", "_private", "GREETING_2", "lower_case"])
    func identifiersPass(_ name: String) throws {
        try EnvironmentName.check(name)
    }

    @Test(arguments: ["", "2X", "A-B", "A.B", "A B", "É", "A=B", "A\nB", String(repeating: "A", count: 257)])
    func otherNamesAreRefused(_ name: String) throws {
        let error = try #require(throws: RequestRejection.self) { try EnvironmentName.check(name) }
        #expect(error.field == "env")
    }

    @Test(arguments: [
        "INPUT_BUCKET", "OUTPUT_BUCKET", "MINIO_SERVICE_HOST", "MINIO_SERVICE_PORT", "FILE_PREFIX", "TASK_ARGS_FILE",
        "JOB_COMPLETION_INDEX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_PROFILE",
        "AWS_CONFIG_FILE",
    ])
    func reservedNamesAreRefusedNamingTheVariable(_ name: String) throws {
        let error = try #require(throws: RequestRejection.self) { try EnvironmentName.check(name) }
        #expect(error.field == "env.\(name)")
        #expect(error.reason.contains(name))
    }
}
