// How watch events are read (`JSONScanner`): each type takes the fields `Models.swift`
// declares and skips the rest, giving what `JSONDecoder` gives for the same JSON.

extension ObjectMeta: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "name": name = try scanner.string()
            case "namespace": namespace = try scanner.string()
            case "uid": uid = try scanner.string()
            case "resourceVersion": resourceVersion = try scanner.string()
            case "creationTimestamp": creationTimestamp = try scanner.string()
            case "deletionTimestamp": deletionTimestamp = try scanner.string()
            case "finalizers": finalizers = try scanner.strings()
            case "labels": labels = try scanner.stringMap()
            case "annotations": annotations = try scanner.stringMap()
            default: try scanner.skip()
            }
        }
    }
}

extension Job: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var metadata: ObjectMeta?
        var spec: JobSpec?
        var status: JobStatus?
        try scanner.object { key, scanner in
            switch key {
            case "metadata": metadata = try scanner.value()
            case "spec": spec = try scanner.value()
            case "status": status = try scanner.value()
            default: try scanner.skip()
            }
        }
        self.init(metadata: try scanner.required(metadata, "a Job's metadata"), spec: spec, status: status)
    }
}

extension JobSpec: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "completions": completions = try scanner.int()
            case "completionMode": completionMode = try scanner.string()
            case "activeDeadlineSeconds": activeDeadlineSeconds = try scanner.int()
            default: try scanner.skip()
            }
        }
    }
}

extension JobStatus: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "conditions": conditions = try scanner.values()
            case "startTime": startTime = try scanner.string()
            case "completionTime": completionTime = try scanner.string()
            case "active": active = try scanner.int()
            case "succeeded": succeeded = try scanner.int()
            case "failed": failed = try scanner.int()
            default: try scanner.skip()
            }
        }
    }
}

extension JobCondition: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var type: String?
        var status: String?
        var reason: String?
        var message: String?
        var lastTransitionTime: String?
        try scanner.object { key, scanner in
            switch key {
            case "type": type = try scanner.string()
            case "status": status = try scanner.string()
            case "reason": reason = try scanner.string()
            case "message": message = try scanner.string()
            case "lastTransitionTime": lastTransitionTime = try scanner.string()
            default: try scanner.skip()
            }
        }
        self.init(
            type: try scanner.required(type, "a condition's type"), status: try scanner.required(status, "a condition's status"),
            reason: reason, message: message, lastTransitionTime: lastTransitionTime)
    }
}

extension Pod: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var metadata: ObjectMeta?
        var status: PodStatus?
        try scanner.object { key, scanner in
            switch key {
            case "metadata": metadata = try scanner.value()
            case "status": status = try scanner.value()
            default: try scanner.skip()
            }
        }
        self.init(metadata: try scanner.required(metadata, "a Pod's metadata"), status: status)
    }
}

extension PodStatus: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "phase": phase = try scanner.string()
            case "reason": reason = try scanner.string()
            case "message": message = try scanner.string()
            case "startTime": startTime = try scanner.string()
            case "containerStatuses": containerStatuses = try scanner.values()
            default: try scanner.skip()
            }
        }
    }
}

extension ContainerStatus: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var name: String?
        var state: ContainerState?
        try scanner.object { key, scanner in
            switch key {
            case "name": name = try scanner.string()
            case "state": state = try scanner.value()
            default: try scanner.skip()
            }
        }
        self.init(name: try scanner.required(name, "a container's name"), state: state)
    }
}

extension ContainerState: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "waiting": waiting = try scanner.value()
            case "running": running = try scanner.value()
            case "terminated": terminated = try scanner.value()
            default: try scanner.skip()
            }
        }
    }
}

extension ContainerState.Waiting: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "reason": reason = try scanner.string()
            case "message": message = try scanner.string()
            default: try scanner.skip()
            }
        }
    }
}

extension ContainerState.Running: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "startedAt": startedAt = try scanner.string()
            default: try scanner.skip()
            }
        }
    }
}

extension ContainerState.Terminated: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var exitCode: Int?
        var reason: String?
        var message: String?
        var startedAt: String?
        var finishedAt: String?
        try scanner.object { key, scanner in
            switch key {
            case "exitCode": exitCode = try scanner.int()
            case "reason": reason = try scanner.string()
            case "message": message = try scanner.string()
            case "startedAt": startedAt = try scanner.string()
            case "finishedAt": finishedAt = try scanner.string()
            default: try scanner.skip()
            }
        }
        self.init(
            exitCode: try scanner.required(exitCode, "a terminated container's exitCode"), reason: reason, message: message,
            startedAt: startedAt, finishedAt: finishedAt)
    }
}

extension ObjectList: JSONScannable where Item: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        var metadata = ListMeta()
        var items: [Item] = []
        try scanner.object { key, scanner in
            switch key {
            case "metadata": metadata = try scanner.value() ?? metadata
            case "items": items = try scanner.values() ?? []
            default: try scanner.skip()
            }
        }
        self.init(metadata: metadata, items: items)
    }
}

extension ObjectList.ListMeta: JSONScannable {
    public init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "resourceVersion": resourceVersion = try scanner.string()
            default: try scanner.skip()
            }
        }
    }
}

extension StatusObject: JSONScannable {
    /// Reads a watch ERROR event or an HTTP error body (only these carry `details`).
    init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "kind": kind = try scanner.string()
            case "message": message = try scanner.string()
            case "reason": reason = try scanner.string()
            case "code": code = try scanner.int()
            case "details": details = try scanner.value()
            default: try scanner.skip()
            }
        }
    }
}

extension StatusObject.Details: JSONScannable {
    init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "causes": causes = try scanner.values()
            default: try scanner.skip()
            }
        }
    }
}

extension StatusObject.Cause: JSONScannable {
    init(scanning scanner: inout JSONScanner) throws {
        self.init()
        try scanner.object { key, scanner in
            switch key {
            case "reason": reason = try scanner.string()
            case "message": message = try scanner.string()
            case "field": field = try scanner.string()
            default: try scanner.skip()
            }
        }
    }
}
