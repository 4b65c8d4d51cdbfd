/// How to verify a server and how to present ourselves to it. Verification is on by default.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM file of the certificate authorities to trust; nil trusts the system store.
    public var caFile: String?
    /// PEM bytes of the certificate authorities to trust (kubeconfig `certificate-authority-data`).
    public var caPEM: [UInt8]?
    /// Client certificate and key, as files or PEM bytes.
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// Turns verification off. Only for development clusters that ask for it explicitly.
    public var insecureSkipVerify: Bool

    public init(
        caFile: String? = nil,
        caPEM: [UInt8]? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil,
        insecureSkipVerify: Bool = false
    ) {
        self.caFile = caFile
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
    }
}
