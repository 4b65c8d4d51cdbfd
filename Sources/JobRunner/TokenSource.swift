import Foundation
import Synchronization

/// The bearer token: fixed, or read from a file and re-read every minute because bound
/// service-account tokens rotate (as client-go does).
final class TokenSource: Sendable {
    private let fixed: String?
    private let file: String?
    private let cached = Mutex<(token: String, readAt: Date)?>(nil)

    init(token: String?, file: String?) {
        fixed = token
        self.file = file
    }

    func current() -> String? {
        if let fixed { return fixed }
        guard let file else { return nil }
        return cached.withLock { cached in
            if let cached, Date().timeIntervalSince(cached.readAt) < 60 { return cached.token }
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else { return cached?.token }
            cached = (token.trimmingCharacters(in: .whitespacesAndNewlines), Date())
            return cached?.token
        }
    }
}
