import Backoff
import Foundation
import HTTPTransport
import Logging

@testable import JobRunner

/// How a test reaches its simulator: plain HTTP, HTTPS with a CA and a bearer token, or HTTPS
/// with a kubeconfig naming a client certificate.
enum Access: String, CaseIterable, Sendable, CustomStringConvertible {
    case plain, tlsToken, kubeconfigClientCertificate

    var description: String { rawValue }
}

/// The test client's Kubernetes API simulator (`python3 -m k8s_simulator`) as a process of its
/// own: a free port, its own state directory, stopped with the test.
final class Simulator: @unchecked Sendable {
    static let testClient = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("test-client").path
    static let token = "sim-test-token"

    let directory: String
    let server: String
    let client: KubernetesClient
    /// The TLS settings of the admin calls (the same as the client's, without the kubeconfig).
    private let adminTLS: TLSConfiguration
    private let process = Process()

    init(_ access: Access = .plain, extraArguments: [String] = [], retry: RetryPolicy? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var arguments = [
            "python3", "-m", "k8s_simulator", "--host", "127.0.0.1", "--port", "0", "--images", "images.json",
            "--state-dir", "\(directory)/state", "--backoff-base-seconds", "0.2",
            // A test run that ends without this deinit (killed, or an init that threw) must not
            // leave the simulator running.
            "--parent-pid", "\(ProcessInfo.processInfo.processIdentifier)",
        ]
        if access != .plain {
            try Certificates.make(in: directory)
            arguments += ["--tls-cert", "\(directory)/server.crt", "--tls-key", "\(directory)/server.key"]
            arguments += access == .tlsToken ? ["--token", Self.token] : ["--client-ca", "\(directory)/ca.crt", "--token", Self.token]
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments + extraArguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.testClient)
        let logPath = "\(directory)/simulator.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        server = try Self.waitForReadyLine(in: logPath, process: process)

        var configuration: KubernetesConfiguration
        switch access {
        case .plain:
            configuration = KubernetesConfiguration(server: server)
            adminTLS = TLSConfiguration()
        case .tlsToken:
            configuration = KubernetesConfiguration(server: server, tls: TLSConfiguration(caFile: "\(directory)/ca.crt"), token: Self.token)
            adminTLS = configuration.tls
        case .kubeconfigClientCertificate:
            let kubeconfig = "\(directory)/kubeconfig"
            try Certificates.kubeconfig(server: server, directory: directory).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            configuration = try KubernetesConfiguration.kubeconfig(path: kubeconfig)
            adminTLS = TLSConfiguration(caFile: "\(directory)/ca.crt")
        }
        configuration.retry = retry ?? RetryPolicy(baseDelay: 0.05, maxDelay: 2, patience: 6)
        client = KubernetesClient(configuration: configuration, logger: Logger(label: "simulator-test"))
    }

    deinit {
        // Polled, not waitUntilExit(): that waits on a run loop a test's thread does not run.
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func waitForReadyLine(in path: String, process: Process) throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on ") {
                return String(text[range.upperBound...].prefix { !$0.isWhitespace })
            }
            guard process.isRunning else { throw SimulatorError("the simulator exited: \(text)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw SimulatorError("the simulator did not start within 30 s")
    }

    // MARK: - Admin API (`/_sim/`)

    @discardableResult
    func admin(_ method: String, _ path: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let data = method == "GET" ? [] : [UInt8](try JSONSerialization.data(withJSONObject: body))
        let request = HTTPRequest(
            method: method, url: server + path, headers: [("Content-Type", "application/json")], body: data, totalTimeout: 10)
        let response = try await HTTPClient(tls: adminTLS).send(request)
        guard response.status == 200 else { throw SimulatorError("\(method) \(path): HTTP \(response.status)") }
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    func addFault(_ rule: [String: Any]) async throws { try await admin("POST", "/_sim/faults", rule) }
    func clearFaults() async throws { try await admin("POST", "/_sim/faults/clear") }
    func cutWatches() async throws { try await admin("POST", "/_sim/watches/cut") }
    func expireWatches() async throws { try await admin("POST", "/_sim/watches/expire") }

    /// Requests counted by the simulator, by `VERB path-template`.
    func requestCounts() async throws -> [String: Int] {
        (try await admin("GET", "/_sim/stats")["requests"] as? [String: Int]) ?? [:]
    }
}

struct SimulatorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, made with the
/// `openssl` command.
enum Certificates {
    static func make(in directory: String) throws {
        try openssl(
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt"],
            directory)
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(directory)/san.cnf", atomically: true, encoding: .utf8)
        for (name, subject, extra) in [
            ("server", "/CN=127.0.0.1", ["-extfile", "san.cnf"]), ("client", "/CN=cloud-worker/O=system:masters", [String]()),
        ] {
            try openssl(
                ["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", "\(name).key", "-out", "\(name).csr"], directory)
            try openssl(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out",
                    "\(name).crt",
                ]
                    + extra, directory)
        }
    }

    /// A kubeconfig with the CA inline (`certificate-authority-data`), the client certificate as
    /// a relative file and its key inline, and a second context that is not the current one.
    static func kubeconfig(server: String, directory: String) throws -> String {
        let ca = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/ca.crt")).base64EncodedString()
        let key = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/client.key")).base64EncodedString()
        return """
            apiVersion: v1
            kind: Config
            current-context: simulator
            clusters:
            - name: simulator
              cluster:
                server: \(server)
                certificate-authority-data: \(ca)
            - name: elsewhere
              cluster:
                server: https://192.0.2.1:6443
            contexts:
            - name: simulator
              context: {cluster: simulator, user: worker, namespace: default}
            - name: other
              context: {cluster: elsewhere, user: worker}
            users:
            - name: worker
              user:
                client-certificate: client.crt
                client-key-data: \(key)
            """
    }

    private static func openssl(_ arguments: [String], _ directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SimulatorError("openssl \(arguments.joined(separator: " ")) failed") }
    }
}
