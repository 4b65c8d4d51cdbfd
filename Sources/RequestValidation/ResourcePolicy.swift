/// Which resources a request may ask for, how much, and what it gets when it asks for none.
public struct ResourcePolicy: Sendable {
    /// The largest request or limit of each resource. A resource not named here cannot be
    /// asked for at all.
    public var maximums: [String: ResourceQuantity]
    /// What a resource that a request names in neither `requests` nor `limits` gets.
    public var defaultRequests: [String: ResourceQuantity]
    public var defaultLimits: [String: ResourceQuantity]

    public static let standardMaximums = ["cpu": "4", "memory": "16Gi", "ephemeral-storage": "20Gi", "nvidia.com/gpu": "1"]

    public init(
        maximums: [String: ResourceQuantity] = Self.standardMaximums.mapValues { ResourceQuantity($0)! },
        defaultRequests: [String: ResourceQuantity] = [:],
        defaultLimits: [String: ResourceQuantity] = [:]
    ) {
        self.maximums = maximums
        self.defaultRequests = defaultRequests
        self.defaultLimits = defaultLimits
    }

    /// The requests and limits the Job gets: the request's own, each checked against the caps,
    /// plus the defaults for the resources it did not name.
    public func resolve(_ asked: ContainerResources) throws(RequestRejection) -> ContainerResources {
        for (section, quantities) in [("requests", asked.requests), ("limits", asked.limits)] {
            for (name, quantity) in quantities.sorted(by: { $0.key < $1.key }) {
                try check(quantity, of: name, field: "resources.\(section).\(name)")
            }
        }
        for (name, request) in asked.requests.sorted(by: { $0.key < $1.key }) {
            guard let limit = asked.limits[name] else {
                if Self.isExtended(name) {
                    throw RequestRejection(
                        field: "resources.limits.\(name)", reason: "is required with a request (extended resources cannot be overcommitted)"
                    )
                }
                continue
            }
            if Self.isExtended(name), request != limit {
                throw RequestRejection(
                    field: "resources.requests.\(name)", reason: "must equal its limit (extended resources cannot be overcommitted)")
            }
            guard request <= limit else {
                throw RequestRejection(field: "resources.requests.\(name)", reason: "\(request) is more than its limit \(limit)")
            }
        }
        var resolved = asked
        let named = Set(asked.requests.keys).union(asked.limits.keys)
        for (name, quantity) in defaultRequests where !named.contains(name) { resolved.requests[name] = quantity }
        for (name, quantity) in defaultLimits where !named.contains(name) { resolved.limits[name] = quantity }
        return resolved
    }

    private func check(_ quantity: ResourceQuantity, of name: String, field: String) throws(RequestRejection) {
        guard let maximum = maximums[name] else {
            throw RequestRejection(
                field: field, reason: "is not a resource requests may ask for (allowed: \(maximums.keys.sorted().joined(separator: ", ")))")
        }
        guard quantity.value >= 0 else { throw RequestRejection(field: field, reason: "must not be negative") }
        guard quantity <= maximum else { throw RequestRejection(field: field, reason: "\(quantity) is more than the maximum \(maximum)") }
        if Self.isExtended(name), !quantity.isInteger {
            throw RequestRejection(field: field, reason: "must be a whole number (\(name) is an extended resource)")
        }
    }

    /// Resources outside Kubernetes' own (`nvidia.com/gpu`, ...): whole numbers, never
    /// overcommitted.
    static func isExtended(_ name: String) -> Bool {
        name.contains("/") && !name.hasPrefix("kubernetes.io/")
    }
}

/// A container's resource requests and limits.
public struct ContainerResources: Sendable, Equatable {
    public var requests: [String: ResourceQuantity] = [:]
    public var limits: [String: ResourceQuantity] = [:]

    public init(requests: [String: ResourceQuantity] = [:], limits: [String: ResourceQuantity] = [:]) {
        self.requests = requests
        self.limits = limits
    }

    public var isEmpty: Bool { requests.isEmpty && limits.isEmpty }
}
