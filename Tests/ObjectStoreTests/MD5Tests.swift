import Testing

/// The test-only MD5 against RFC 1321's test suite (appendix A.5).
@Suite struct MD5Tests {
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func rfc1321(_ input: String, _ expected: String) {
        #expect(MD5.hex(Array(input.utf8)) == expected)
    }

    @Test func piecesGiveTheDigestOfTheWhole() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        var md5 = MD5()
        var offset = 0
        for size in [1, 63, 64, 65, 127, 500, 4_096] {
            md5.update(Array(bytes[offset..<offset + size]))
            offset += size
        }
        md5.update(Array(bytes[offset...]))
        #expect(md5.finalize() == MD5.digest(bytes))
    }

    @Test func multipartETagIsTheDigestOfPartDigests() {
        // hashlib.md5(md5(b"a").digest() + md5(b"b").digest()), as S3 builds it.
        #expect(MD5.multipartETag(parts: [Array("a".utf8)[...], Array("b".utf8)[...]]) == "\"96e024ba2074fe77e8e965ba43a704be-2\"")
    }
}
