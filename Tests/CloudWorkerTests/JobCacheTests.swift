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
        cache.update(Self.job("d", complete: true))
        #expect(cache.unfinishedCount == 0)
        // An API answer about a Job the watch has removed does not bring it back.
        cache.update(Self.job("b"))
        #expect(cache.jobs["b"] == nil)
        #expect(cache.unfinishedCount == 0)
        _ = cache.apply(.listed([Self.job("e"), Self.job("c", complete: true)]))
        #expect(cache.unfinishedCount == 1)
        #expect(cache.unfinishedCount == Self.scanned(cache))
    }
}
