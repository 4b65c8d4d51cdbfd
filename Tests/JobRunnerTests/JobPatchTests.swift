import Foundation
import Testing

@testable import JobRunner

@Suite struct JobPatchTests {
    @Test(arguments: [
        (
            JobPatch(annotations: ["a": "1", "gone": nil], finalizers: [], activeDeadlineSeconds: 1, ttlSecondsAfterFinished: 5), "123",
            #"{"metadata": {"annotations": {"a": "1", "gone": null}, "finalizers": null, "resourceVersion": "123"},"#
                + #" "spec": {"activeDeadlineSeconds": 1, "ttlSecondsAfterFinished": 5}}"#
        ),
        (
            JobPatch(annotations: ["x": "y"], finalizers: ["f/1", "f/2"]), nil,
            #"{"metadata": {"annotations": {"x": "y"}, "finalizers": ["f/1", "f/2"]}}"#
        ),
        (JobPatch(activeDeadlineSeconds: 7), "9", #"{"metadata": {"resourceVersion": "9"}, "spec": {"activeDeadlineSeconds": 7}}"#),
        (JobPatch(), nil, "{}"),
    ])
    func mergePatch(_ patch: JobPatch, resourceVersion: String?, expected: String) throws {
        let json = patch.mergePatch(resourceVersion: resourceVersion)
        #expect(try parsedObject(json) == parsedObject(Array(expected.utf8)))
        #expect(try isCompactWithSortedKeys(json))
    }
}
