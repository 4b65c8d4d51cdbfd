import Backoff
import Foundation
import HTTPTransport

/// How to reach the API server: a URL, a TLS setting and a bearer token, either fixed or read
/// from a file that is re-read as it rotates.
public struct KubernetesConfiguration: Sendable {
    public var server: String
    public var namespace: String
    public var tls: TLSConfiguration
    public var token: String?
    /// A token file (the service account's bound token), re-read about every minute.
    public var tokenFile: String?
    public var retry: RetryPolicy

    public init(
        server: String,
        namespace: String = "default",
        tls: TLSConfiguration = TLSConfiguration(),
        token: String? = nil,
        tokenFile: String? = nil,
        retry: RetryPolicy = RetryPolicy(baseDelay: 0.2, maxDelay: 10, patience: 10)
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.tls = tls
        self.token = token
        self.tokenFile = tokenFile
        self.retry = retry
    }

    static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The in-cluster configuration: the service account's token, CA and namespace.
    public static func inCluster(namespace: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> KubernetesConfiguration
    {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw KubernetesError.configuration(
                "not running in a cluster (KUBERNETES_SERVICE_HOST is unset): pass --kube-server to use an API server directly")
        }
        let directory = serviceAccountDirectory
        let ownNamespace = (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubernetesConfiguration(
            server: "https://\(hostPart):\(port)",
            namespace: namespace ?? ownNamespace ?? "default",
            tls: TLSConfiguration(caFile: "\(directory)/ca.crt"),
            tokenFile: "\(directory)/token"
        )
    }
}
