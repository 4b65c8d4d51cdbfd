import Testing

@testable import RequestValidation

@Suite struct LogKeyTemplateTests {
    @Test func rendersEveryPlaceholder() {
        let template = LogKeyTemplate("{prefix}/{jobName}/{job}/{pod}.log")
        #expect(template.render(job: "j-1", pod: "j-1-abc", requestedName: "Nightly", prefix: "p") == "p/Nightly/j-1/j-1-abc.log")
        #expect(LogKeyTemplate("{prefix}-{job}.log").render(job: "j", pod: "x", requestedName: "n", prefix: nil) == "-j.log")
    }

    @Test func aValueIsNotExpandedAgainAndUnknownBracesStay() {
        let template = LogKeyTemplate("{jobName}/{prefix}/{unknown}/{pod")
        #expect(template.render(job: "j", pod: "p", requestedName: "{prefix}", prefix: "x") == "{prefix}/x/{unknown}/{pod")
    }

    @Test(arguments: [
        ("logs/a/b.log", nil), ("/logs/a", "starts with '/'"), ("logs/../a", "'.' or '..' segment"), ("./a", "'.' or '..' segment"),
        ("a/.", "'.' or '..' segment"), ("a..b/c", nil), ("", "is empty"), ("a\u{7}b", "control character"),
        (String(repeating: "k", count: 1025), "longer than 1024 bytes"),
    ])
    func keyProblems(_ key: String, problem: String?) {
        #expect(LogKeyTemplate.problem(with: key)?.contains(problem ?? "\u{0}") ?? (problem == nil))
    }

    @Test func checkNamesTheFieldThatBreaksTheKey() throws {
        let template = LogKeyTemplate("logs/{prefix}/{jobName}/{pod}.log")
        try template.check(requestedName: "nightly", prefix: "run1")
        let prefix = try #require(throws: RequestRejection.self) { try template.check(requestedName: "nightly", prefix: ".") }
        #expect(prefix.field == "prefix")
        let name = try #require(throws: RequestRejection.self) { try template.check(requestedName: "../../x", prefix: "run1") }
        #expect(name.field == "jobName")
        // The standard template uses neither, so neither can break it.
        try LogKeyTemplate.standard.check(requestedName: "../..", prefix: ".")
    }
}
