import Foundation
import Testing

@testable import ObjectStore

/// Published SigV4 examples: the S3 documentation's "Signature Calculations in AWS Signature
/// Version 4" examples (bucket `examplebucket`, 2013-05-24) and the AWS SigV4 test suite's
/// `get-vanilla` case (botocore `tests/unit/auth/aws4_testsuite`).
@Suite struct SigV4SignerTests {
    static let s3DocsSigner = SigV4Signer(
        credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")

    @Test func s3DocumentationGetObject() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/test.txt",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash)
        let signer = Self.s3DocsSigner
        #expect(
            signer.canonicalRequest(request) == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            signer.authorization(for: request, amzDate: "20130524T000000Z")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3DocumentationPutObject() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = Digest.hex(Digest.sha256(body))
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = SigV4Signer.Request(
            method: "PUT", path: "/test%24file.text",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", hash),
            ],
            payloadHash: hash)
        #expect(
            Self.s3DocsSigner.authorization(for: request, amzDate: "20130524T000000Z").hasSuffix(
                "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                    + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func s3DocumentationListObjectsQuery() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            Self.s3DocsSigner.authorization(for: request, amzDate: "20130524T000000Z").hasSuffix(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func awsTestSuiteGetVanilla() {
        let signer = SigV4Signer(
            credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let request = SigV4Signer.Request(
            method: "GET", path: "/", headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            signer.authorization(for: request, amzDate: "20150830T123600Z")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func headerValuesAreTrimmedAndRepeatedHeadersJoined() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/a//b c",
            headers: [("Host", "h"), ("My-Header", "  a   b  "), ("my-header", "c")],
            payloadHash: SigV4Signer.unsignedPayload)
        let canonical = Self.s3DocsSigner.canonicalRequest(request)
        #expect(canonical.contains("my-header:a b,c\n"))
        #expect(canonical.hasPrefix("GET\n/a//b c\n"))  // the S3 path is signed as sent
    }

    @Test func queryIsEncodedStrictlyAndSorted() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/", query: [("b", "x y+z"), ("a", ""), ("a~", "é/")],
            headers: [("Host", "h")], payloadHash: SigV4Signer.emptyPayloadHash)
        let lines = Self.s3DocsSigner.canonicalRequest(request).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[2] == "a=&a~=%C3%A9%2F&b=x%20y%2Bz")
    }

    @Test func amzDateIsUTC() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
        // Seconds are cut, not rounded; single digits are padded.
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_234_567_890.999)) == "20090213T233130Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 946_688_461)) == "20000101T010101Z")
    }

    /// The signing key is derived once a day and kept: a later day, or a copy of the signer
    /// given other credentials or another region, must not sign with the key kept before.
    @Test func theKeptSigningKeyIsOnlyUsedForItsOwnDayAndCredentials() {
        func signature(_ signer: SigV4Signer, _ amzDate: String) -> String {
            let request = SigV4Signer.Request(
                method: "GET", path: "/", headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", amzDate)],
                payloadHash: SigV4Signer.emptyPayloadHash)
            return signer.authorization(for: request, amzDate: amzDate)
        }
        let credentials = S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let first = signature(signer, "20150830T123600Z")
        #expect(first.hasSuffix("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"))

        var otherSecret = signer
        otherSecret.credentials.secretAccessKey = "another-secret"
        var otherRegion = signer
        otherRegion.region = "eu-west-1"
        for (changed, fresh) in [
            (otherSecret, SigV4Signer(credentials: otherSecret.credentials, region: "us-east-1", service: "service")),
            (otherRegion, SigV4Signer(credentials: credentials, region: "eu-west-1", service: "service")),
        ] {
            let signed = signature(changed, "20150830T123600Z")
            #expect(signed != first)
            #expect(signed == signature(fresh, "20150830T123600Z"))
        }
        let nextDay = signature(signer, "20150831T000000Z")
        #expect(nextDay == signature(SigV4Signer(credentials: credentials, region: "us-east-1", service: "service"), "20150831T000000Z"))
        #expect(signature(signer, "20150830T123600Z") == first)
    }

    @Test func credentialsNeverPrintTheSecret() {
        let credentials = S3Credentials(accessKeyID: "AK", secretAccessKey: "topsecret")
        #expect(!"\(credentials)".contains("topsecret"))
    }
}
