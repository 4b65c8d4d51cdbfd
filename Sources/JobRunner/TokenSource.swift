import Foundation

/// The bearer token: fixed, or read from a file and re-read every minute because bound
/// service-account tokens rotate (as client-go does).
final class TokenSource: @unchecked Sendable {
    private let fixed: String?
    private let file: String?
    private let lock = NSLock()
    private var cached: (token: String, readAt: Date)?

    init(token: String?, file: String?) {
        fixed = token
        self.file = file
    }

    func current() -> String? {
        if let fixed { return fixed }
        guard let file else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let cached, Date().timeIntervalSince(cached.readAt) < 60 { return cached.token }
        guard let token = try? String(contentsOfFile: file, encoding: .utf8) else { return cached?.token }
        cached = (token.trimmingCharacters(in: .whitespacesAndNewlines), Date())
        return cached?.token
    }
}
