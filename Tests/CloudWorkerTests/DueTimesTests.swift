import Testing

@testable import CloudWorker

@Suite struct DueTimesTests {
    @Test func theEarliestComesFirstAndChangedTimesCountOnce() {
        var times = DueTimes<String>()
        times.set("a", 30)
        times.set("b", 10)
        times.set("c", 20)
        times.set("b", 40)  // moved later: its old entry must not fire
        times.set("c", nil)  // cleared
        #expect(times.earliest() == 30)
        #expect(times.takeDue(by: 35) == ["a"])
        #expect(times.takeDue(by: 39) == [])
        #expect(times.takeDue(by: 40) == ["b"])
        #expect(times.earliest() == nil)
    }

    /// Many random changes, checked against the plain map they stand for.
    @Test func agreesWithAPlainMapUnderRandomChanges() {
        var times = DueTimes<Int>()
        var model: [Int: Double] = [:]
        var seed: UInt64 = 42
        func next(_ bound: UInt64) -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (seed >> 33) % bound
        }
        var now = 0.0
        for _ in 0..<5000 {
            let key = Int(next(50))
            switch next(4) {
            case 0:
                times.set(key, nil)
                model[key] = nil
            case 1:
                now += Double(next(5))
                let due = model.filter { $0.value <= now }
                let taken = times.takeDue(by: now)
                #expect(Set(taken) == Set(due.keys))
                let takenTimes = taken.map { model[$0] ?? -1 }
                #expect(takenTimes == takenTimes.sorted(), "earliest first")
                due.keys.forEach { model[$0] = nil }
            default:
                let time = now + Double(next(100))
                times.set(key, time)
                model[key] = time
            }
            #expect(times.earliest() == model.values.min())
        }
        #expect(Set(times.keys) == Set(model.keys))
    }
}
