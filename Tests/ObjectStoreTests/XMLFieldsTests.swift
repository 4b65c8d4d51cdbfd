import HTTPTransport
import Testing

@testable import ObjectStore

@Suite struct S3ErrorDecodingTests {
    @Test func decodesSignatureDoesNotMatch() {
        let body = Array(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; so on</Message>
            <Resource>/b/k</Resource><RequestId>17A1B2</RequestId></Error>
            """.utf8)
        let error = S3Error.from(status: 403, body: body, operation: "PUT b/k")
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.message == "The request signature we calculated does not match & so on")
        #expect(error.requestID == "17A1B2")
        #expect(!error.isRetryable)
        #expect(error.description.contains("SignatureDoesNotMatch"))
    }

    @Test func emptyBodiesGetACodeFromTheStatus() {
        #expect(S3Error.from(status: 404, body: [], operation: "HEAD b/k").code == "NotFound")
        #expect(S3Error.from(status: 503, body: [], operation: "PUT b/k").isRetryable)
        #expect(S3Error(code: "SlowDown", message: "", status: 503, operation: "PUT").isRetryable)
    }

    @Test func readsListingRecords() {
        let xml = XMLFields(
            Array(
                "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&lt;b</Key><Size>3</Size></Contents><Contents><Key>c</Key><Size>4</Size></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>"
                    .utf8))
        #expect(xml.elements("Contents").map { XMLFields($0).first("Key") } == ["a<b", "c"])
        #expect(xml.first("NextContinuationToken") == "t1")
    }

    @Test func percentEncodingKeepsSlashesInKeysOnly() {
        #expect(PercentEncoding.encode("a b/c+d~", keepingSlash: true) == "a%20b/c%2Bd~")
        #expect(PercentEncoding.encode("a/b") == "a%2Fb")
        #expect(PercentEncoding.encode("ሴ=x&y,z") == "%E1%88%B4%3Dx%26y%2Cz")
        #expect(percentDecoded("%E1%88%B4=x") == "ሴ=x")
    }
}
