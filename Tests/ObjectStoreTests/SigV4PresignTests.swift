import Foundation
import HTTPTransport
import Logging
import Testing

@testable import ObjectStore

/// Query authentication against the S3 documentation's presigned-URL example ("Authenticating
/// Requests: Using Query Parameters", bucket `examplebucket`, 2013-05-24, 86400 s).
@Suite struct SigV4PresignTests {
    static let credentials = S3Credentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let signature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    @Test func s3DocumentationPresignedGet() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let request = SigV4Signer.Request(
            method: "GET", path: "/test.txt", headers: [("host", "examplebucket.s3.amazonaws.com")],
            payloadHash: SigV4Signer.unsignedPayload)
        let query = signer.presignedQuery(for: request, date: Self.date, expires: 86400)
        #expect(
            query.map(\.name) == [
                "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
            ])
        #expect(query.first { $0.name == "X-Amz-Credential" }?.value == "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
        #expect(query.last?.value == Self.signature)
    }

    @Test func theClientGivesTheDocumentedURL() {
        let client = S3Client(
            configuration: S3Configuration(credentials: Self.credentials, pathStyle: false), http: HTTPClient(),
            logger: Logger(label: "test"))
        #expect(
            client.presignedURL(bucket: "examplebucket", key: "test.txt", expires: 86400, date: Self.date)
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=\(Self.signature)")
    }

    @Test func aChangedKeyChangesTheSignature() {
        let client = S3Client(
            configuration: S3Configuration(credentials: Self.credentials, pathStyle: true), http: HTTPClient(),
            logger: Logger(label: "test"))
        let url = client.presignedURL(bucket: "examplebucket", key: "logs/a b.txt", expires: 60, date: Self.date)
        #expect(url.hasPrefix("https://s3.amazonaws.com/examplebucket/logs/a%20b.txt?X-Amz-Algorithm="))
        #expect(!url.hasSuffix(Self.signature))
    }
}
