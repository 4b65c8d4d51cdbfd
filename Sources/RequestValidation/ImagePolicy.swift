/// Which images a request may run.
public struct ImagePolicy: Sendable {
    /// Registry hosts (`registry.example.com`, `localhost:5000`) or repository paths
    /// (`registry.example.com/team`, `docker.io/library`); empty allows every image. An entry
    /// matches a whole name or the part before a `/`, so `registry.example.com` does not allow
    /// `registry.example.com.evil.io/x`.
    public var allowed: [String]
    /// Refuses references without a `@sha256:...` digest, so that a tag moved in the registry
    /// cannot change what runs.
    public var requireDigest: Bool

    public init(allowed: [String] = [], requireDigest: Bool = false) {
        self.allowed = allowed.map { entry in String(entry.reversed().drop { $0 == "/" }.reversed()) }
        self.requireDigest = requireDigest
    }

    /// Accepts a reference that parses and that this policy allows.
    func check(_ text: String) throws(RequestRejection) {
        let reference = try ImageReference(text)
        if requireDigest, reference.digest == nil {
            throw RequestRejection(
                field: "image", reason: "\(RequestRejection.quoted(text)) has no digest; only @sha256:... references may run")
        }
        guard allowed.isEmpty || allowed.contains(where: { allows(reference.name, $0) || allows(reference.fullName, $0) }) else {
            throw RequestRejection(
                field: "image",
                reason:
                    "\(RequestRejection.quoted(reference.name)) is not in an allowed registry or repository (\(allowed.joined(separator: ", ")))"
            )
        }
    }

    private func allows(_ name: String, _ entry: String) -> Bool {
        name == entry || name.hasPrefix(entry + "/")
    }
}
