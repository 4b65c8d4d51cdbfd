@testable import JobRunner

extension PodLogFollower {
    /// The next lines of the log, passing over cuts; nil at its end.
    func nextLines() async throws -> [UInt8]? {
        while let piece = try await next() {
            if case .lines(let lines) = piece { return lines }
        }
        return nil
    }
}
