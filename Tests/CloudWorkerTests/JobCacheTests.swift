import Testing

@testable import CloudWorker
@testable import JobRunner

/// The cache's count of unfinished Jobs follows every kind of change, without a scan.
@Suite struct JobCacheTests {
    static func job(_ name: String, complete: Bool = false) -> Job {
        var job = JobLifecycleTests.job(complete: complete ? 10 : nil)
        job.metadata.name = name
        return job
    }

    /// What a scan of the cache would count.
    static func scanned(_ cache: JobCache) -> Int {
        cache.jobs.values.filter { JobOutcome.finalCondition(of: $0) == nil }.count
    }

    @Test func unfinishedCountFollowsEveryChange() {
        var cache = JobCache()
        _ = cache.apply(.listed([Self.job("a"), Self.job("b"), Self.job("c", complete: true)]))
        #expect(cache.unfinishedCount == 2)
        _ = cache.apply(.current(Self.job("a", complete: true)))
        #expect(cache.unfinishedCount == 1)
        _ = cache.apply(.current(Self.job("d")))
        #expect(cache.unfinishedCount == 2)
        _ = cache.apply(.deleted(Self.job("b")))
        #expect(cache.unfinishedCount == 1)
        cache.put(Self.job("d", complete: true))
        #expect(cache.unfinishedCount == 0)
        _ = cache.apply(.listed([Self.job("e"), Self.job("c", complete: true)]))
        #expect(cache.unfinishedCount == 1)
        #expect(cache.unfinishedCount == Self.scanned(cache))
    }
}
