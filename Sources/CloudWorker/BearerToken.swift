/// The check of an `Authorization: Bearer <token>` header.
enum BearerToken {
    /// True when no token is required, or the header carries exactly `expected`. The comparison
    /// takes the same time wherever the first difference is, so that timing does not reveal
    /// how much of a guess was right.
    static func accepts(_ authorization: String?, expected: String?) -> Bool {
        guard let expected else { return true }
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return false }
        let given = Array(authorization.dropFirst("bearer ".count).utf8)
        let wanted = Array(expected.utf8)
        guard given.count == wanted.count else { return false }
        return zip(given, wanted).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
