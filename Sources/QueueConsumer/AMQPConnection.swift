internal import CRabbitMQ
internal import CRabbitMQShim
import Glibc

/// One rabbitmq-c connection with its channel 1, opened, logged in, topology declared and
/// consuming. Not thread-safe: it lives and dies on the client's connection thread.
final class AMQPConnection {
    private let state: amqp_connection_state_t
    private let channel: amqp_channel_t = 1
    private let names = CStringArena()
    private var open = false

    init(_ configuration: AMQPConfiguration) throws(AMQPError) {
        guard let state = amqp_new_connection() else { throw AMQPError(.protocolError, "amqp_new_connection failed") }
        self.state = state
        let url = configuration.url
        let socket = try Self.makeSocket(state, configuration)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        if status != AMQP_STATUS_OK.rawValue {
            throw AMQPError(
                status == AMQP_STATUS_SSL_ERROR.rawValue || status == AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue
                    || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue || status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue
                    ? .tls : .connectionRefused,
                "cannot connect to \(url.host):\(url.port): \(String(cString: amqp_error_string2(status)))"
            )
        }
        let login = cw_amqp_login_plain(
            state, url.virtualHost, 0, 131_072, Int32(configuration.heartbeat), url.user, url.password,
            configuration.connectionName
        )
        try Self.check(login, "login as '\(url.user)' to vhost '\(url.virtualHost)' on \(url.host):\(url.port)", login: true)
        open = true
        amqp_channel_open(state, channel)
        try check("open channel")
        try declare(configuration.topology)
        amqp_confirm_select(state, channel)
        try check("enable publisher confirms")
        if configuration.consumes {
            amqp_basic_qos(state, channel, 0, UInt16(clamping: configuration.prefetch), 0)
            try check("set prefetch")
            amqp_basic_consume(
                state, channel, names.bytes(configuration.topology.requestQueue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
            try check("consume from '\(configuration.topology.requestQueue)'")
        }
    }

    deinit {
        if open { _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS) }
        amqp_destroy_connection(state)
    }

    var socketDescriptor: Int32 { amqp_get_sockfd(state) }
    /// The heartbeat interval agreed with the broker, in seconds (the lower of the two offers);
    /// 0: none.
    var heartbeat: Int { Int(amqp_get_heartbeat(state)) }

    /// Frames already read from the socket but not yet handled: poll would not report them.
    var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: - Topology

    private func declare(_ topology: AMQPTopology) throws(AMQPError) {
        if !topology.requestExchange.isEmpty {
            amqp_exchange_declare(
                state, channel, names.bytes(topology.requestExchange), names.bytes("direct"), 0, 1, 0, 0, amqp_empty_table)
            try check("declare exchange '\(topology.requestExchange)'")
        }
        let queues: [(String, [String: AMQPArgument])] = [
            (topology.requestQueue, [:]), (topology.deadLetterQueue, topology.deadLetterQueueArguments),
            (topology.replyQueue, topology.replyQueueArguments),
        ]
        for (queue, arguments) in queues where !queue.isEmpty {
            amqp_queue_declare(state, channel, names.bytes(queue), 0, 1, 0, 0, names.table(arguments))
            try check("declare queue '\(queue)'")
        }
        if !topology.requestExchange.isEmpty {
            amqp_queue_bind(
                state, channel, names.bytes(topology.requestQueue), names.bytes(topology.requestExchange),
                names.bytes(topology.requestRoutingKey), amqp_empty_table)
            try check("bind '\(topology.requestQueue)' to '\(topology.requestExchange)'")
        }
    }

    // MARK: - Outbound

    func publish(exchange: String, routingKey: String, mandatory: Bool, message: AMQPMessage) throws(AMQPError) {
        let arena = CStringArena()
        var properties = amqp_basic_properties_t()
        var flags: UInt32 = 0
        let p = message.properties
        if let value = p.contentType { properties.content_type = arena.bytes(value); flags |= UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG) }
        if let value = p.messageID { properties.message_id = arena.bytes(value); flags |= UInt32(AMQP_BASIC_MESSAGE_ID_FLAG) }
        if let value = p.correlationID { properties.correlation_id = arena.bytes(value); flags |= UInt32(AMQP_BASIC_CORRELATION_ID_FLAG) }
        if let value = p.replyTo { properties.reply_to = arena.bytes(value); flags |= UInt32(AMQP_BASIC_REPLY_TO_FLAG) }
        if let value = p.type { properties.type = arena.bytes(value); flags |= UInt32(AMQP_BASIC_TYPE_FLAG) }
        if let value = p.userID { properties.user_id = arena.bytes(value); flags |= UInt32(AMQP_BASIC_USER_ID_FLAG) }
        if let value = p.deliveryMode { properties.delivery_mode = value; flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG) }
        if let value = p.timestamp {
            properties.timestamp = value
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        if !p.headers.isEmpty { properties.headers = arena.table(p.headers); flags |= UInt32(AMQP_BASIC_HEADERS_FLAG) }
        properties._flags = flags
        let status = amqp_basic_publish(
            state, channel, arena.bytes(exchange), arena.bytes(routingKey), mandatory ? 1 : 0, 0, &properties,
            arena.bytes(message.body))
        try check(status: status, "publish to '\(exchange)'/'\(routingKey)'")
    }

    func ack(_ tag: UInt64, multiple: Bool) throws(AMQPError) {
        try check(status: amqp_basic_ack(state, channel, tag, multiple ? 1 : 0), "ack")
    }

    func reject(_ tag: UInt64, requeue: Bool) throws(AMQPError) {
        try check(status: amqp_basic_reject(state, channel, tag, requeue ? 1 : 0), "reject")
    }

    // MARK: - Inbound

    enum Event {
        /// `discardedBodyBytes` is set, and the body empty, when the body was over the limit.
        case delivery(AMQPMessage, tag: UInt64, redelivered: Bool, exchange: String, routingKey: String, discardedBodyBytes: UInt64?)
        case confirm(tag: UInt64, multiple: Bool, acked: Bool)
        case returned(AMQPMessage, exchange: String, routingKey: String, reason: String)
    }

    /// The next event if one is ready, nil if none is. Also sends heartbeats when due.
    func nextEvent(maxBodyBytes: Int) throws(AMQPError) -> Event? {
        amqp_maybe_release_buffers(state)
        var frame = amqp_frame_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        try check(status: status, "read frame")
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return nil }
        let method = frame.payload.method
        switch method.id {
        case AMQP_BASIC_DELIVER_METHOD:
            // Copied out first: the method lives in the channel's pool, which reading the
            // content recycles.
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let tag = deliver.delivery_tag
            let redelivered = deliver.redelivered != 0
            let exchange = deliver.exchange.swiftString
            let routingKey = deliver.routing_key.swiftString
            let (message, discarded) = try readContent(channel: frame.channel, maxBodyBytes: maxBodyBytes)
            return .delivery(
                message, tag: tag, redelivered: redelivered, exchange: exchange, routingKey: routingKey, discardedBodyBytes: discarded)
        case AMQP_BASIC_ACK_METHOD:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .confirm(tag: ack.delivery_tag, multiple: ack.multiple != 0, acked: true)
        case AMQP_BASIC_NACK_METHOD:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .confirm(tag: nack.delivery_tag, multiple: nack.multiple != 0, acked: false)
        case AMQP_BASIC_RETURN_METHOD:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let reason = "\(returned.reply_code) \(returned.reply_text.swiftString)"
            let exchange = returned.exchange.swiftString
            let routingKey = returned.routing_key.swiftString
            let (message, _) = try readContent(channel: frame.channel, maxBodyBytes: .max)
            return .returned(message, exchange: exchange, routingKey: routingKey, reason: reason)
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            var ok = amqp_channel_close_ok_t()
            amqp_send_method(state, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
            throw AMQPError(.connectionLost, "broker closed the channel: \(close.reply_code) \(close.reply_text.swiftString)")
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t()
            amqp_send_method(state, frame.channel, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
            open = false
            throw AMQPError(.connectionLost, "broker closed the connection: \(close.reply_code) \(close.reply_text.swiftString)")
        default:
            return nil
        }
    }

    /// The header and body frames that follow a deliver or return. Each frame is copied out and
    /// its buffer recycled at once, so a message costs its body and one frame; a body over
    /// `maxBodyBytes` is not kept at all (its size is returned instead), so an oversized
    /// message costs one frame. amqp_read_message would hold the whole body twice.
    private func readContent(channel: amqp_channel_t, maxBodyBytes: Int) throws(AMQPError) -> (AMQPMessage, discarded: UInt64?) {
        var frame = amqp_frame_t()
        try check(status: amqp_simple_wait_frame(state, &frame), "read a message header")
        guard frame.frame_type == UInt8(AMQP_FRAME_HEADER) else {
            throw AMQPError(.protocolError, "expected a content header, got frame type \(frame.frame_type)")
        }
        let size = frame.payload.properties.body_size
        let properties = Self.properties(frame.payload.properties.decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee)
        let keep = size <= UInt64(maxBodyBytes)
        var body: [UInt8] = []
        if keep { body.reserveCapacity(Int(size)) }
        var received: UInt64 = 0
        while received < size {
            amqp_maybe_release_buffers_on_channel(state, channel)
            try check(status: amqp_simple_wait_frame(state, &frame), "read a message body")
            guard frame.frame_type == UInt8(AMQP_FRAME_BODY) else {
                throw AMQPError(.protocolError, "expected a body frame, got frame type \(frame.frame_type)")
            }
            let fragment = frame.payload.body_fragment
            received += UInt64(fragment.len)
            if keep, fragment.len > 0 { body += UnsafeRawBufferPointer(start: fragment.bytes, count: fragment.len) }
        }
        return (AMQPMessage(body: body, properties: properties), keep ? nil : size)
    }

    // MARK: - Conversions

    private static func properties(_ p: amqp_basic_properties_t) -> AMQPProperties {
        let flags = p._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        var properties = AMQPProperties()
        if has(AMQP_BASIC_CONTENT_TYPE_FLAG) { properties.contentType = p.content_type.swiftString }
        if has(AMQP_BASIC_MESSAGE_ID_FLAG) { properties.messageID = p.message_id.swiftString }
        if has(AMQP_BASIC_CORRELATION_ID_FLAG) { properties.correlationID = p.correlation_id.swiftString }
        if has(AMQP_BASIC_REPLY_TO_FLAG) { properties.replyTo = p.reply_to.swiftString }
        if has(AMQP_BASIC_TYPE_FLAG) { properties.type = p.type.swiftString }
        if has(AMQP_BASIC_DELIVERY_MODE_FLAG) { properties.deliveryMode = p.delivery_mode }
        if has(AMQP_BASIC_TIMESTAMP_FLAG) { properties.timestamp = p.timestamp }
        if has(AMQP_BASIC_USER_ID_FLAG) { properties.userID = p.user_id.swiftString }
        if has(AMQP_BASIC_HEADERS_FLAG) { properties.headers = headers(p.headers) }
        return properties
    }

    private static func headers(_ table: amqp_table_t) -> [String: String] {
        var result: [String: String] = [:]
        for index in 0..<Int(table.num_entries) {
            let entry = table.entries[index]
            let value = entry.value
            let text: String?
            switch Int(value.kind) {
            case Int(AMQP_FIELD_KIND_UTF8.rawValue), Int(AMQP_FIELD_KIND_BYTES.rawValue): text = value.value.bytes.swiftString
            case Int(AMQP_FIELD_KIND_BOOLEAN.rawValue): text = value.value.boolean != 0 ? "true" : "false"
            case Int(AMQP_FIELD_KIND_I8.rawValue): text = "\(value.value.i8)"
            case Int(AMQP_FIELD_KIND_U8.rawValue): text = "\(value.value.u8)"
            case Int(AMQP_FIELD_KIND_I16.rawValue): text = "\(value.value.i16)"
            case Int(AMQP_FIELD_KIND_U16.rawValue): text = "\(value.value.u16)"
            case Int(AMQP_FIELD_KIND_I32.rawValue): text = "\(value.value.i32)"
            case Int(AMQP_FIELD_KIND_U32.rawValue): text = "\(value.value.u32)"
            case Int(AMQP_FIELD_KIND_I64.rawValue), Int(AMQP_FIELD_KIND_TIMESTAMP.rawValue): text = "\(value.value.i64)"
            case Int(AMQP_FIELD_KIND_U64.rawValue): text = "\(value.value.u64)"
            default: text = nil
            }
            if let text { result[entry.key.swiftString] = text }
        }
        return result
    }

    // MARK: - Errors

    private static func makeSocket(_ state: amqp_connection_state_t, _ configuration: AMQPConfiguration) throws(AMQPError) -> OpaquePointer
    {
        guard configuration.url.useTLS else {
            guard let socket = amqp_tcp_socket_new(state) else { throw AMQPError(.protocolError, "cannot create a TCP socket") }
            return socket
        }
        guard let socket = amqp_ssl_socket_new(state) else { throw AMQPError(.tls, "cannot create a TLS socket") }
        amqp_ssl_socket_set_verify_peer(socket, 1)
        amqp_ssl_socket_set_verify_hostname(socket, 1)
        if let ca = configuration.caFile, amqp_ssl_socket_set_cacert(socket, ca) != AMQP_STATUS_OK.rawValue {
            throw AMQPError(.tls, "cannot read the CA file '\(ca)'")
        }
        if let certificate = configuration.clientCertificateFile, let key = configuration.clientKeyFile,
            amqp_ssl_socket_set_key(socket, certificate, key) != AMQP_STATUS_OK.rawValue
        {
            throw AMQPError(.tls, "cannot read the client certificate '\(certificate)' or its key")
        }
        return socket
    }

    private func check(_ what: String) throws(AMQPError) {
        try Self.check(amqp_get_rpc_reply(state), what, login: false)
    }

    private func check(status: Int32, _ what: String) throws(AMQPError) {
        guard status != AMQP_STATUS_OK.rawValue else { return }
        throw AMQPError(.connectionLost, "\(what) failed: \(String(cString: amqp_error_string2(status)))")
    }

    private static func check(_ reply: amqp_rpc_reply_t, _ what: String, login: Bool) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let text = close.reply_text.swiftString
            let code: AMQPError.Code =
                close.reply_code == 403
                ? .authenticationFailed
                : (close.reply_code == 530 && text.contains("vhost")) ? .virtualHostNotFound : .protocolError
            throw AMQPError(code, "\(what) refused by the broker: \(close.reply_code) \(text)")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where login && reply.library_error == AMQP_STATUS_CONNECTION_CLOSED.rawValue:
            // Brokers without authentication_failure_close drop the socket on bad credentials.
            throw AMQPError(.authenticationFailed, "\(what): the broker closed the connection (wrong user or password?)")
        default:
            throw AMQPError(.connectionLost, "\(what) failed: \(describe(reply))")
        }
    }

    private static func describe(_ reply: amqp_rpc_reply_t) -> String {
        switch reply.reply_type {
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return String(cString: amqp_error_string2(reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                return "\(close.reply_code) \(close.reply_text.swiftString)"
            }
            if reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return "\(close.reply_code) \(close.reply_text.swiftString)"
            }
            return "server exception (method \(reply.reply.id))"
        default:
            return "no reply"
        }
    }
}
