import Foundation

/// Hands the kernel back, once start-up is done, the pages of code and data that only start-up
/// touched: argument parsing, configuration, the set-up of the status server, the broker and
/// the TLS library. They are clean pages of the executable and its libraries, read again from
/// the file if ever needed; left alone they stay resident, about half of an idle worker's RSS
/// (measured idle with health probes answered: 39 MB without this, 17 to 23 MB with it).
/// Writable mappings count too: the pages of their file never written (most of the
/// executable's 38 MB data segment) are clean like code; those written, such as relocated
/// pointers, are the process's own memory, which the kernel keeps where there is no swap.
/// Pages that other processes map too are left to them (the kernel skips them), and so are
/// pages not yet written back to the file, as in a binary just linked; a kernel without
/// `MADV_PAGEOUT` (before 5.4) keeps them all. The ranges are then marked `MADV_RANDOM`: a page
/// read again from the file comes alone, without the 128 kB of read-around. (Pages still in the
/// page cache, as in a large folio of which some page stayed mapped, are mapped again 64 kB at
/// a time whatever the advice.)
enum StartupPages {
    static func release() {
        guard let maps = procFile("/proc/self/maps") else { return }
        for line in maps.split(separator: "\n") {
            // start-end perms offset device inode path
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5].hasPrefix("/") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard bounds.count == 2, bounds[1] > bounds[0], let start = UnsafeMutableRawPointer(bitPattern: bounds[0]) else {
                continue
            }
            let length = Int(bounds[1] - bounds[0])
            _ = madvise(start, length, MADV_PAGEOUT)
            _ = madvise(start, length, MADV_RANDOM)
        }
    }

    /// A file of /proc read whole. `String(contentsOfFile:)` stops after its first read, as these
    /// files report a size of 0, so it sees only the first 4 kB.
    static func procFile(_ path: String) -> String? {
        guard let data = FileHandle(forReadingAtPath: path)?.readDataToEndOfFile() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
