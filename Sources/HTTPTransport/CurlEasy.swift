internal import CCurl
internal import CCurlShim

/// One libcurl easy handle. Not thread-safe: it lives on its multi loop's thread, which reuses it
/// for one transfer after another.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    /// Bodies up to this size go out in the same write as the head (libcurl's own limit for it).
    private static let bodyWithHeadLimit = 64 * 1024

    init() {
        CurlRuntime.ensureInitialised()
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init returned NULL") }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// The easy handle, for the multi handle that runs it.
    var pointer: UnsafeMutableRawPointer { handle }

    /// Sets the handle up for `transfer`, pointing its callbacks at it. The header list returned
    /// must live until the transfer has ended.
    func prepare(_ transfer: CurlTransfer) -> UnsafeMutablePointer<curl_slist>? {
        curl_easy_reset(handle)
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?

        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_URL, request.url)
        // The path goes out as SigV4 signed it: libcurl would otherwise resolve `.` and `..`
        // segments first, and the server would then refuse the signature.
        set(CURLOPT_PATH_AS_IS, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout * 1000))
        set(CURLOPT_TIMEOUT_MS, Int(request.totalTimeout * 1000))
        set(CURLOPT_TCP_KEEPALIVE, 1)
        // Over HTTP/2 one connection carries every transfer to a host: a transfer started while
        // the first connection is being set up waits to learn whether it multiplexes, instead of
        // opening a connection of its own.
        set(CURLOPT_PIPEWAIT, 1)
        set(CURLOPT_ACCEPT_ENCODING, "")  // what the server may compress, libcurl decodes
        configure(transfer.tls)

        switch request.method {
        case "GET": set(CURLOPT_HTTPGET, 1)
        case "HEAD": set(CURLOPT_NOBODY, 1)
        default: set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method != "GET" && request.method != "HEAD" {
            if request.body.count <= Self.bodyWithHeadLimit {
                // Sent with the head in one write; libcurl keeps a copy of a body this small.
                _ = cw_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                let copy = { (body: UnsafeRawBufferPointer) in
                    _ = cw_curl_easy_setopt_pointer(
                        self.handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress))
                }
                // An empty body still needs an address to copy its no bytes from.
                if request.body.isEmpty { withUnsafeBytes(of: UInt8(0), copy) } else { request.body.withUnsafeBytes(copy) }
                // A body set this way has libcurl name a form's content type unless told otherwise.
                if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    headerList = curl_slist_append(headerList, "Content-Type:")
                }
            } else {
                // A larger upload with a known size, read from memory by the read callback.
                set(CURLOPT_UPLOAD, 1)
                _ = cw_curl_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count))
                _ = cw_curl_easy_setopt_data_callback(handle, CURLOPT_READFUNCTION, curlRead)
                _ = cw_curl_easy_setopt_pointer(handle, CURLOPT_READDATA, context)
            }
        }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // libcurl would otherwise send `Expect: 100-continue` and wait for it on larger bodies.
        headerList = curl_slist_append(headerList, "Expect:")
        _ = cw_curl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))

        _ = cw_curl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader)
        _ = cw_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = cw_curl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite)
        _ = cw_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        return headerList
    }

    /// Lets a transfer its write callback paused read again.
    func unpause() {
        _ = cw_curl_easy_unpause(handle)
    }

    /// How the transfer ended, from libcurl's result code.
    func outcome(of transfer: CurlTransfer, code: CURLcode) -> Result<Void, HTTPError> {
        if transfer.aborted { return .failure(transfer.cancellation) }
        guard code == CURLE_OK else {
            return .failure(
                HTTPError(
                    kind: HTTPError.Kind(code), curlCode: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)),
                    target: transfer.target))
        }
        transfer.deliverHeadIfNeeded(status: responseCode())
        return .success(())
    }

    private func responseCode() -> Int {
        var code = 0
        _ = cw_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    private func configure(_ tls: TLSConfiguration) {
        if tls.insecureSkipVerify {
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let caFile = tls.caFile { set(CURLOPT_CAINFO, caFile) }
        if let caPEM = tls.caPEM { setBlob(CURLOPT_CAINFO_BLOB, caPEM) }
        if let certificate = tls.clientCertificateFile { set(CURLOPT_SSLCERT, certificate) }
        if let key = tls.clientKeyFile { set(CURLOPT_SSLKEY, key) }
        if let certificate = tls.clientCertificatePEM { setBlob(CURLOPT_SSLCERT_BLOB, certificate) }
        if let key = tls.clientKeyPEM { setBlob(CURLOPT_SSLKEY_BLOB, key) }
    }

    private func set(_ option: CURLoption, _ value: Int) {
        _ = cw_curl_easy_setopt_long(handle, option, value)
    }

    private func set(_ option: CURLoption, _ value: String) {
        _ = cw_curl_easy_setopt_string(handle, option, value)
    }

    private func setBlob(_ option: CURLoption, _ bytes: [UInt8]) {
        // CURL_BLOB_COPY: libcurl keeps its own copy, so the Swift array may go.
        bytes.withUnsafeBytes { buffer in
            var blob = curl_blob(
                data: UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                len: buffer.count,
                flags: UInt32(CURL_BLOB_COPY)
            )
            _ = cw_curl_easy_setopt_pointer(handle, option, &blob)
        }
    }
}

// MARK: - Callbacks, with the transfer as their user data

extension HTTPError.Kind {
    init(_ code: CURLcode) {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
            CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            self = .connectionFailed
        case CURLE_OPERATION_TIMEDOUT: self = .timedOut
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CACERT_BADFILE:
            self = .tls
        default: self = .other
        }
    }
}

private let curlRead: cw_curl_data_callback = { buffer, size, count, user in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
    let remaining = transfer.request.body.count - transfer.uploadOffset
    let length = min(size * count, remaining)
    guard length > 0, let buffer else { return 0 }
    transfer.request.body.withUnsafeBytes { body in
        UnsafeMutableRawPointer(buffer).copyMemory(
            from: body.baseAddress! + transfer.uploadOffset,
            byteCount: length
        )
    }
    transfer.uploadOffset += length
    return length
}

private let curlHeader: cw_curl_data_callback = { buffer, size, count, user in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
    let length = size * count
    let line = HeaderLine(UnsafeRawBufferPointer(start: buffer, count: length))
    if let status = line.status {
        // A new status line (after 100 Continue or a redirect) starts a new header block.
        transfer.headers = HTTPHeaders()
        transfer.status = status
    } else if line.isEnd {
        if transfer.status >= 200 { transfer.deliverHeadIfNeeded(status: transfer.status) }
    } else if let field = line.field {
        transfer.headers.append(name: field.name, value: field.value)
    }
    return length
}

/// One line of a response head as libcurl hands it over, read in place: only a field's name
/// and value become Strings.
private struct HeaderLine {
    let bytes: Slice<UnsafeRawBufferPointer>

    init(_ raw: UnsafeRawBufferPointer) {
        bytes = Self.trimmed(raw[...])
    }

    /// The blank line that ends the head.
    var isEnd: Bool { bytes.isEmpty }

    /// The code of a status line (`HTTP/1.1 200 OK`), 0 if it has none that reads.
    var status: Int? {
        guard bytes.starts(with: "HTTP/".utf8) else { return nil }
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return 0 }
        let digits = bytes[(space + 1)...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self)) ?? 0
    }

    var field: (name: String, value: String)? {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (
            String(decoding: Self.trimmed(bytes[..<colon]), as: UTF8.self),
            String(decoding: Self.trimmed(bytes[(colon + 1)...]), as: UTF8.self)
        )
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.startIndex..<bytes.startIndex]
        }
        return bytes[first...last]
    }
}

private let curlWrite: cw_curl_data_callback = { buffer, size, count, user in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
    let length = size * count
    transfer.deliverHeadIfNeeded(status: transfer.status)
    switch transfer.sink.receiveData(UnsafeRawBufferPointer(start: buffer, count: length)) {
    case .accept: return length
    case .pause: return cw_curl_write_pause()
    case .abort:
        transfer.aborted = true
        return 0  // anything but `length` (or the pause value) makes libcurl abort the transfer
    }
}
