import NIOCore

// nghttp2's events routed to the streams, request validation, and the frame submissions streams ask for.
extension ServerConnectionHandler {
    func process(_ events: [NGHTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let streamID, let fields):
                if streams[streamID] == nil {
                    openStream(streamID: streamID, fields: fields)
                }  // else: request trailers, which gRPC does not use.
            case .data(let streamID, let bytes):
                if let stream = streams[streamID] {
                    stream.receive(bytes)
                    countInbound(stream)
                }
            case .endStream(let streamID):
                streams[streamID]?.receiveEnd()
            case .streamClosed(let streamID, _):
                if let stream = streams.removeValue(forKey: streamID) {
                    registry.streamClosed()
                    stream.close()
                    countInbound(stream)
                    if case .becameIdle(let armIdleTimer) = machine.streamClosed() {
                        becameIdle(armIdleTimer: armIdleTimer)
                    }
                }
            case .sentReset(_, let errorCode):
                if errorCode == HTTP2ErrorCode.refusedStream.rawValue {
                    configuration.metrics.hit(.concurrentStreams)
                    logs.streams.log(
                        logger, "refusing streams past the per-connection limit",
                        metadata: ["peer": "\(remoteAddress ?? "?")", "limit": "\(configuration.maxConcurrentStreams)"])
                }
            case .sentEndStream(let streamID):
                streams[streamID]?.sentEndStream()
            case .goAway:
                break
            }
        }
    }

    /// New request HEADERS: checks what docs/PROTOCOL.md §4 requires of a request (POST, a gRPC content type,
    /// identity encoding, a well-formed `grpc-timeout`) before the service sees the stream; a failure is answered
    /// Trailers-Only.
    private func openStream(streamID: Int32, fields: [HeaderField]) {
        guard let context else { return }
        let path = fields.first { $0.name == ":path" }?.value ?? ""
        let stream = GRPCServerStream(
            streamID: streamID, path: path, headers: fields, remoteAddress: remoteAddress, peer: peer.identity,
            connectionID: connectionID, eventLoop: context.eventLoop, connection: self,
            maxMessageBytes: configuration.maxReceiveMessageBytes, memoryBudget: configuration.memoryBudget)
        streamOpening()
        streams[streamID] = stream
        registry.streamOpened()

        let method = stream.header(":method") ?? ""
        let contentType = stream.header("content-type") ?? ""
        if method != "POST" {
            stream.finish(
                .unimplemented("method \(method) not allowed; gRPC requires POST"), httpStatus: "405",
                extraFields: [])
            return
        }
        // grpc-go: a non-gRPC content-type gets HTTP 415 with grpc-status INVALID_ARGUMENT.
        if !(contentType == "application/grpc" || contentType.hasPrefix("application/grpc+")
            || contentType.hasPrefix("application/grpc;"))
        {
            stream.finish(
                .invalidArgument("invalid gRPC request content-type \"\(contentType)\""), httpStatus: "415",
                extraFields: [])
            return
        }
        if let encoding = stream.header("grpc-encoding"), encoding != "identity" {
            stream.fail(.unimplemented("grpc-encoding \"\(encoding)\" is not supported"))
            return
        }
        if let timeout = stream.header("grpc-timeout") {
            guard let duration = GRPCFraming.parseTimeout(timeout) else {
                stream.finish(
                    .invalidArgument("malformed grpc-timeout \"\(timeout)\""), httpStatus: "200", extraFields: [])
                return
            }
            stream.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
                [weak stream] in
                stream?.deadlineFired()
            }
        }
        stream.accept()
        guard let handler = service.open(stream) else {
            stream.finish(.unimplemented("Method not found: \(path)"), httpStatus: "200", extraFields: [])
            return
        }
        stream.attach(handler)
    }

    // MARK: Submissions (called by GRPCServerStream on the event loop)

    /// Response headers, with a body pulled from the stream's queue or (Trailers-Only) with END_STREAM.
    func submitResponse(streamID: Int32, headers: [HeaderField], hasBody: Bool) {
        guard let session else { return }
        do {
            try session.submitResponse(streamID: streamID, headers: headers, hasBody: hasBody)
        } catch {
            logger.debug("submit_response failed", metadata: ["error": "\(error)"])
        }
        scheduleFlush()
    }

    /// The stream queued bytes or trailers: wake its deferred data provider.
    func resumeData(streamID: Int32) {
        guard let session else { return }
        session.resumeData(streamID: streamID)
        scheduleFlush()
    }

    func resetStream(streamID: Int32, errorCode: HTTP2ErrorCode) {
        guard let session else { return }
        session.submitRstStream(streamID: streamID, errorCode: errorCode)
        scheduleFlush()
    }

    func nextOutbound(streamID: Int32, maxLength: Int) -> (length: Int, then: NGHTTP2OutboundRead) {
        guard let stream = streams[streamID] else { return (0, .deferred) }
        return stream.nextOutbound(maxLength: maxLength)
    }

    func takeOutbound(streamID: Int32, length: Int, write: (ByteBuffer) -> Void) {
        streams[streamID]?.takeOutbound(length: length, write: write)
    }
}
