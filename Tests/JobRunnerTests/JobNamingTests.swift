import Testing

@testable import JobRunner

@Suite struct JobNamingTests {
    @Test func sanitisesIntoADNSLabelWithAHashSuffix() {
        let name = JobNaming.jobName(requested: "My_Test Job!!", identityHash: "3f2a9c1d0000")
        #expect(name == "my-test-job-3f2a9c1d")
    }

    @Test func longNamesAreCutTo63() {
        let name = JobNaming.jobName(requested: String(repeating: "a-", count: 100), identityHash: "deadbeefcafe")
        #expect(name.count <= 63)
        #expect(name.hasSuffix("-deadbeef"))
        #expect(!name.contains("--"))
    }

    @Test func emptyOrSymbolNamesStillGiveAValidName() {
        #expect(JobNaming.jobName(requested: "___", identityHash: "0123456789") == "job-01234567")
    }

    @Test func labelValues() {
        #expect(JobNaming.isValidLabelValue("cloud-worker.requests"))
        #expect(!JobNaming.isValidLabelValue("-bad"))
        #expect(!JobNaming.isValidLabelValue(String(repeating: "a", count: 64)))
    }
}

@Suite struct LineSplitterTests {
    @Test func joinsLinesAcrossChunks() {
        var splitter = LineSplitter()
        #expect(splitter.append(Array("{\"a\":".utf8)).isEmpty)
        let lines = splitter.append(Array("1}\n{\"b\":2}\n{\"c\"".utf8))
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}"])
        #expect(splitter.append(Array(":3}\n".utf8)).map { String(decoding: $0, as: UTF8.self) } == ["{\"c\":3}"])
        // A line over three chunks, empty lines, and a final line without its newline.
        #expect(splitter.append(Array("x".utf8)).isEmpty)
        #expect(splitter.append(Array("y".utf8)).isEmpty)
        #expect(splitter.append(Array("z\n\n\nw\n".utf8)).map { String(decoding: $0, as: UTF8.self) } == ["xyz", "w"])
        #expect(splitter.append(Array("tail".utf8)).isEmpty)
        #expect(splitter.remainder().map { String(decoding: $0, as: UTF8.self) } == ["tail"])
        #expect(splitter.remainder().isEmpty)
    }
}
