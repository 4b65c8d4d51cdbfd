internal import CRabbitMQ
import Glibc

/// C copies of Swift strings that rabbitmq-c borrows for the length of a call.
final class CStringArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        allocations.forEach { free($0) }
    }

    func bytes(_ text: String) -> amqp_bytes_t {
        bytes(Array(text.utf8))
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        guard !data.isEmpty, let memory = malloc(data.count) else { return amqp_empty_bytes }
        data.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        allocations.append(memory)
        return amqp_bytes_t(len: data.count, bytes: memory)
    }

    func cString(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    /// A table of string values.
    func table(_ entries: [String: String]) -> amqp_table_t {
        table(entries.mapValues { AMQPArgument.string($0) })
    }

    /// A table of typed values (queue arguments such as `x-message-ttl` must be integers).
    func table(_ entries: [String: AMQPArgument]) -> amqp_table_t {
        guard !entries.isEmpty else { return amqp_empty_table }
        let raw = malloc(MemoryLayout<amqp_table_entry_t>.stride * entries.count)!
        allocations.append(raw)
        let memory = raw.bindMemory(to: amqp_table_entry_t.self, capacity: entries.count)
        for (index, entry) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
            var value = amqp_field_value_t()
            switch entry.value {
            case .string(let text):
                value.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                value.value.bytes = bytes(text)
            case .integer(let number):
                value.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                value.value.i64 = number
            }
            (memory + index).initialize(to: amqp_table_entry_t(key: bytes(entry.key), value: value))
        }
        return amqp_table_t(num_entries: Int32(entries.count), entries: memory)
    }
}

extension amqp_bytes_t {
    var swiftString: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}
