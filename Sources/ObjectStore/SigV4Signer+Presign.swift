import Foundation

extension SigV4Signer {
    /// Query authentication (a presigned URL): the query parameters that let whoever holds the
    /// URL send `request` for `expires` seconds after `date`, without credentials of their own.
    /// The payload is not signed; `request.headers` must hold `host`.
    public func presignedQuery(for request: Request, date: Date, expires: Int) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(date)
        var query =
            request.query + [
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(amzDate))"),
                ("X-Amz-Date", amzDate),
                ("X-Amz-Expires", "\(expires)"),
                ("X-Amz-SignedHeaders", signedHeaderNames(request.headers)),
            ]
        if let token = credentials.sessionToken { query.append(("X-Amz-Security-Token", token)) }
        var signed = request
        signed.query = query
        signed.payloadHash = Self.unsignedPayload
        let canonical = canonicalRequest(signed)
        let signature = self.signature(stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate), amzDate: amzDate)
        return query + [("X-Amz-Signature", signature)]
    }
}
