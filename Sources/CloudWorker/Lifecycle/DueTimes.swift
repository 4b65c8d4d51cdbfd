/// When each delayed key of `WorkQueue` is due, with the earliest found in O(log n): a Job
/// waiting hours for its stuck pod's grace costs nothing while other Jobs' events come and go.
/// A binary min-heap of (due, key) entries beside the map of each key's one current due time;
/// entries the map no longer agrees with are dropped as they surface, and all at once when they
/// outnumber the live ones.
struct DueTimes<Key: Hashable & Sendable>: Sendable {
    private var due: [Key: Double] = [:]
    private var heap: [(due: Double, key: Key)] = []

    subscript(key: Key) -> Double? { due[key] }

    var keys: Dictionary<Key, Double>.Keys { due.keys }

    /// Sets (or with nil clears) when `key` is due.
    mutating func set(_ key: Key, _ time: Double?) {
        guard due[key] != time else { return }
        due[key] = time
        guard let time else { return }
        heap.append((time, key))
        siftUp(heap.count - 1)
        if heap.count > 2 * due.count + 64 { rebuild() }
    }

    /// The earliest due time.
    mutating func earliest() -> Double? {
        dropStale()
        return heap.first?.due
    }

    /// Removes and returns the keys due by `now`, earliest first.
    mutating func takeDue(by now: Double) -> [Key] {
        var keys: [Key] = []
        while let time = earliest(), time <= now {
            let key = removeTop().key
            due[key] = nil
            keys.append(key)
        }
        return keys
    }

    private mutating func dropStale() {
        while let top = heap.first, due[top.key] != top.due { _ = removeTop() }
    }

    private mutating func rebuild() {
        heap = due.map { (due: $0.value, key: $0.key) }
        for index in stride(from: heap.count / 2, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func removeTop() -> (due: Double, key: Key) {
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return top
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0, case let parent = (child - 1) / 2, heap[child].due < heap[parent].due {
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            let left = 2 * parent + 1
            let right = left + 1
            if left < heap.count, heap[left].due < heap[smallest].due { smallest = left }
            if right < heap.count, heap[right].due < heap[smallest].due { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
