/// Job names: DNS-1123 labels of at most 63 characters, made of a sanitised prefix of the
/// requested name and a short hash of the request identity, so that the same request always
/// maps to the same Job.
public enum JobNaming {
    public static let maxLength = 63

    /// - Parameters:
    ///   - requested: the producer's job name, any text.
    ///   - identityHash: hex digest of the request identity; its first 8 characters are used.
    public static func jobName(requested: String, identityHash: String) -> String {
        let suffix = String(identityHash.prefix(8))
        let prefix = sanitised(requested, maxLength: maxLength - suffix.count - 1)
        return "\(prefix.isEmpty ? "job" : prefix)-\(suffix)"
    }

    /// Lower-case alphanumerics and single dashes, starting and ending alphanumeric.
    public static func sanitised(_ text: String, maxLength: Int) -> String {
        var result = ""
        for character in text.lowercased().unicodeScalars {
            let isAllowed = ("a"..."z").contains(character) || ("0"..."9").contains(character)
            if isAllowed {
                result.unicodeScalars.append(character)
            } else if !result.isEmpty && !result.hasSuffix("-") {
                result.append("-")
            }
            if result.count >= maxLength { break }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return result
    }

    /// Whether `text` is a valid label value (≤ 63 of `[A-Za-z0-9._-]`, alphanumeric at the ends).
    public static func isValidLabelValue(_ text: String) -> Bool {
        guard text.count <= 63 else { return false }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return true }
        let alnum: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        return alnum(first) && alnum(last) && text.unicodeScalars.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
