import Foundation
import HTTPTransport
import Testing

@testable import ObjectStore

/// `SigV4Signer` against botocore's `S3SigV4Auth` on 1,000 random S3 requests
/// (`Vectors/differential.json`, written by `Vectors/generate_differential.py`, which the test
/// command runs first). Keys hold spaces, UTF-8, `+`, `%`, `//`, `~`, `=`, `&`, `..`; queries
/// hold empty values and repeated names; headers repeat and hold runs of spaces and tabs;
/// payloads are hashed or `UNSIGNED-PAYLOAD`; some requests carry a session token.
@Suite struct SigV4DifferentialTests {
    struct Document: Decodable {
        var accessKeyID: String
        var secretAccessKey: String
        var cases: [Case]
    }

    struct Case: Decodable {
        var name: String
        var method: String
        var bucket: String
        var key: String
        var url: String
        /// botocore's path, as on the wire: what both sides sign.
        var path: String
        var host: String
        var query: [[String]]
        var headers: [[String]]
        var bodyBase64: String
        var unsignedPayload: Bool
        var region: String
        var sessionToken: String?
        var amzDate: String
        var epochSeconds: Int
        var payloadHash: String
        var canonicalRequest: String
        var authorization: String

        var isPathStyle: Bool { !host.hasPrefix("\(bucket).") }
    }

    static func load() throws -> Document {
        try JSONDecoder().decode(Document.self, from: Vectors.data("differential", "json"))
    }

    @Test func everyRequestIsSignedAsBotocoreSignsIt() throws {
        let document = try Self.load()
        #expect(document.cases.count >= 1_000)
        for item in document.cases {
            let body = try #require(Data(base64Encoded: item.bodyBase64), "\(item.name)")
            let payloadHash = item.unsignedPayload ? SigV4Signer.unsignedPayload : Digest.hex(Digest.sha256([UInt8](body)))
            #expect(payloadHash == item.payloadHash, "\(item.name)")

            let signer = SigV4Signer(
                credentials: S3Credentials(
                    accessKeyID: document.accessKeyID, secretAccessKey: document.secretAccessKey,
                    sessionToken: item.sessionToken),
                region: item.region)
            let request = SigV4Signer.Request(
                method: item.method, path: item.path, query: item.query.map { ($0[0], $0[1]) },
                headers: item.headers.map { ($0[0], $0[1]) } + [("Host", item.host)], payloadHash: payloadHash)
            let date = Date(timeIntervalSince1970: TimeInterval(item.epochSeconds))
            let added = signer.signingHeaders(for: request, date: date)

            var signed = request
            signed.headers += added.filter { $0.name != "Authorization" }
            #expect(SigV4Signer.amzDate(date) == item.amzDate, "\(item.name)")
            #expect(signer.canonicalRequest(signed) == item.canonicalRequest, "\(item.name): \(item.url)")
            #expect(added.first { $0.name == "Authorization" }?.value == item.authorization, "\(item.name): \(item.url)")
        }
    }

    /// S3Client builds the path from the raw key; it must come out as botocore's serializer
    /// renders `/{Bucket}/{Key+}`, or the signature would cover another path than the one sent.
    @Test func keysAreEncodedAsBotocoreEncodesThem() throws {
        for item in try Self.load().cases {
            let encodedKey = PercentEncoding.encode(item.key, keepingSlash: true)
            let expected = item.isPathStyle ? "/\(item.bucket)/\(encodedKey)" : "/\(encodedKey)"
            #expect(expected == item.path, "\(item.name): key \(item.key.debugDescription)")
        }
    }
}
