import Testing

@testable import RequestValidation

@Suite struct ResourcePolicyTests {
    static func quantities(_ map: [String: String]) -> [String: ResourceQuantity] { map.mapValues { ResourceQuantity($0)! } }

    static func resolve(
        requests: [String: String] = [:], limits: [String: String] = [:], policy: ResourcePolicy = ResourcePolicy()
    ) throws(RequestRejection) -> ContainerResources {
        try policy.resolve(ContainerResources(requests: quantities(requests), limits: quantities(limits)))
    }

    static func rejection(requests: [String: String] = [:], limits: [String: String] = [:]) -> RequestRejection? {
        do {
            _ = try resolve(requests: requests, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func withinTheCapsPassesAsAsked() throws {
        let resolved = try Self.resolve(requests: ["cpu": "500m", "memory": "1Gi"], limits: ["cpu": "4", "memory": "16Gi"])
        #expect(resolved.requests == Self.quantities(["cpu": "500m", "memory": "1Gi"]))
        #expect(resolved.limits == Self.quantities(["cpu": "4", "memory": "16Gi"]))
    }

    @Test(arguments: [
        ([:], ["memory": "64Pi"], "resources.limits.memory", "more than the maximum 16Gi"),
        (["cpu": "4001m"], [:], "resources.requests.cpu", "more than the maximum 4"),
        ([:], ["nvidia.com/gpu": "64"], "resources.limits.nvidia.com/gpu", "more than the maximum 1"),
        ([:], ["example.com/fpga": "1"], "resources.limits.example.com/fpga", "not a resource requests may ask for"),
        (["memory": "-1Gi"], [:], "resources.requests.memory", "must not be negative"),
        (["memory": "2Gi"], ["memory": "1Gi"], "resources.requests.memory", "more than its limit"),
        (["nvidia.com/gpu": "1"], [:], "resources.limits.nvidia.com/gpu", "is required with a request"),
        (["nvidia.com/gpu": "0"], ["nvidia.com/gpu": "1"], "resources.requests.nvidia.com/gpu", "must equal its limit"),
        ([:], ["nvidia.com/gpu": "500m"], "resources.limits.nvidia.com/gpu", "whole number"),
    ])
    func refusesNamingTheField(requests: [String: String], limits: [String: String], field: String, reason: String) {
        let rejection = Self.rejection(requests: requests, limits: limits)
        #expect(rejection?.field == field)
        #expect(rejection?.reason.contains(reason) == true, "\(rejection?.reason ?? "accepted")")
    }

    @Test func defaultsFillOnlyTheResourcesNotNamed() throws {
        let policy = ResourcePolicy(
            defaultRequests: Self.quantities(["cpu": "100m", "memory": "128Mi"]),
            defaultLimits: Self.quantities(["cpu": "1", "memory": "1Gi"]))
        let none = try Self.resolve(policy: policy)
        #expect(none.requests == Self.quantities(["cpu": "100m", "memory": "128Mi"]))
        #expect(none.limits == Self.quantities(["cpu": "1", "memory": "1Gi"]))
        // Naming memory only as a request keeps the default limit off it, so that 4Gi is not
        // refused for being over a default it never asked for.
        let some = try Self.resolve(requests: ["memory": "4Gi"], policy: policy)
        #expect(some.requests == Self.quantities(["cpu": "100m", "memory": "4Gi"]))
        #expect(some.limits == Self.quantities(["cpu": "1"]))
    }
}
