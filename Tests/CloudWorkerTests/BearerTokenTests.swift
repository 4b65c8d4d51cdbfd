import Testing

@testable import CloudWorker

@Suite struct BearerTokenTests {
    @Test func noTokenConfiguredLetsEveryoneIn() {
        #expect(BearerToken.accepts(nil, expected: nil))
        #expect(BearerToken.accepts("Bearer anything", expected: nil))
    }

    @Test(arguments: [
        ("Bearer s3cret", true), ("bearer s3cret", true), ("Bearer s3cre", false), ("Bearer s3cretx", false), ("Bearer S3cret", false),
        ("Basic s3cret", false), ("s3cret", false), ("Bearer ", false),
    ])
    func onlyTheExactTokenPasses(_ header: String, _ accepted: Bool) {
        #expect(BearerToken.accepts(header, expected: "s3cret") == accepted)
    }

    @Test func missingHeaderIsRefused() {
        #expect(!BearerToken.accepts(nil, expected: "s3cret"))
    }
}
