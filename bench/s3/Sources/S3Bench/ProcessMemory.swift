import Foundation

/// This process's resident memory from `/proc/self/status` (Linux): now (`VmRSS`) and at its
/// highest so far (`VmHWM`), in KiB; zeros where `/proc` is missing.
struct ProcessMemory {
    var residentKiB = 0
    var peakKiB = 0

    static func read() -> ProcessMemory {
        var memory = ProcessMemory()
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return memory }
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kib = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { memory.residentKiB = kib }
            if fields[0] == "VmHWM:" { memory.peakKiB = kib }
        }
        return memory
    }
}
