import Foundation
import Testing

@testable import CloudWorker

/// Released pages leave the resident set: a file mapped read-only, as code is, and read all
/// through, stops counting in the process's RSS, and a page read again does not bring its
/// neighbours back with it.
@Suite struct StartupPagesTests {
    static func residentFileKiB() -> Int {
        let status = StartupPages.procFile("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssFile:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? -1
    }

    @Test func releasedPagesLeaveTheResidentSet() throws {
        try Self.withFileReadThrough(size: 32 << 20, protection: PROT_READ) { bytes in
            let before = Self.residentFileKiB()
            StartupPages.release()
            let after = Self.residentFileKiB()
            // The mapped file alone is 32 MB; tests running alongside fault some of their pages back.
            #expect(before - after > 24 << 10, "RssFile \(before) kB before, \(after) kB after")

            // A page needed again comes back alone: four pages read, 1 MB apart, are 16 kB mapped
            // back, where the kernel's read-around brought in and mapped 200 to 256 kB with them.
            var sum = 0
            for page in stride(from: 0, to: 4 << 20, by: 1 << 20) { sum &+= Int(bytes[page]) }
            #expect(sum == 4 * 7)
            let resident = try #require(Self.residentKiB(ofMappingAt: bytes))
            #expect(resident <= 4 * 16, "\(resident) kB of the file mapped back for 4 pages read")
        }
    }

    /// A writable private mapping, as an executable's data segment is: the pages only read
    /// leave the resident set, the one written stays, with what was written.
    @Test func writtenPagesOfAWritableMappingStayWithTheirContents() throws {
        let size = 8 << 20
        try Self.withFileReadThrough(size: size, protection: PROT_READ | PROT_WRITE) { bytes in
            bytes[size / 2] = 42
            StartupPages.release()
            // Of the 8 MB read, the written page stays; a few pages that the kernel had not yet
            // put on its lists (a batch per CPU) may stay with it.
            let resident = try #require(Self.residentKiB(ofMappingAt: bytes))
            #expect(resident < 1024, "\(resident) kB of 8 MB read stay mapped")
            #expect(bytes[size / 2] == 42)
            #expect(bytes[size / 2 + 1] == 7)
        }
    }

    /// A file of `size` bytes of 7, written to disk, mapped privately and read through, its pages
    /// then all resident, as code and data are after start-up.
    static func withFileReadThrough(
        size: Int, protection: Int32, _ body: (UnsafeMutablePointer<UInt8>) throws -> Void
    ) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("startup-pages-\(UUID())").path
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: size)))
        let file = open(path, O_RDONLY)
        defer { close(file) }
        fsync(file)  // clean pages: dirty ones would wait for their writeback
        let mapped = try #require(mmap(nil, size, protection, MAP_PRIVATE, file, 0))
        defer { munmap(mapped, size) }
        let bytes = mapped.assumingMemoryBound(to: UInt8.self)
        var sum = 0
        for page in stride(from: 0, to: size, by: 4096) { sum &+= Int(bytes[page]) }
        #expect(sum == 7 * size / 4096)
        try body(bytes)
    }

    /// The Rss of the mapping that starts at `address`, from /proc/self/smaps.
    static func residentKiB(ofMappingAt address: UnsafeMutablePointer<UInt8>) -> Int? {
        let smaps = StartupPages.procFile("/proc/self/smaps") ?? ""
        let start = String(UInt(bitPattern: address), radix: 16) + "-"
        let lines = smaps.split(separator: "\n")
        guard let header = lines.firstIndex(where: { $0.hasPrefix(start) }) else { return nil }
        let rss = lines[header...].first { $0.hasPrefix("Rss:") }
        return rss.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
    }
}
