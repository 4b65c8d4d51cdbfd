/// `total` reproducible bytes in chunks, from xorshift64*: fast enough (gigabytes a second) that
/// making the data costs the benchmark next to nothing, and incompressible like real outputs.
struct PseudoRandomStream {
    let total: Int
    let chunkSize: Int
    private var state: UInt64
    private var produced = 0

    init(total: Int, chunkSize: Int, seed: UInt64) {
        precondition(chunkSize > 0 && chunkSize % 8 == 0, "the chunk size must be a positive multiple of 8")
        self.total = total
        self.chunkSize = chunkSize
        self.state = seed == 0 ? 1 : seed
    }

    /// The next chunk, or nil at the end of the stream.
    mutating func next() -> [UInt8]? {
        guard produced < total else { return nil }
        let count = min(chunkSize, total - produced)
        produced += count
        var state = self.state
        let chunk = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let words = (count + 7) / 8
            var scratch = [UInt64](repeating: 0, count: words)
            for index in 0..<words {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                scratch[index] = (state &* 0x2545_F491_4F6C_DD1D).littleEndian
            }
            scratch.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
            }
            initialized = count
        }
        self.state = state
        return chunk
    }
}
