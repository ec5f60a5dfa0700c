import CNghttp2
import NIOCore

// The only file in Chancery that touches libnghttp2 or raw C pointers (in the manner of swift-nio-http2 0.2.x).
// Callbacks never call back into user code: they record `NGHTTP2Event`s that the owner processes after
// `mem_recv`/`mem_send` return, so nghttp2 is never re-entered from inside itself.

/// A failed nghttp2 call, with the C error code and the operation that returned it.
package struct NGHTTP2Error: Error, Hashable, CustomStringConvertible {
    package var code: Int32
    package var operation: String

    package var description: String { "\(operation): \(String(cString: nghttp2_strerror(code))) (\(code))" }
    package var isFatal: Bool { nghttp2_is_fatal(code) != 0 }
}

/// Something nghttp2 reported while processing input or producing output.
package enum NGHTTP2Event {
    /// A complete header block (request/response headers or trailers).
    case headers(streamID: Int32, fields: [HeaderField])
    case data(streamID: Int32, bytes: ByteBuffer)
    /// The peer set END_STREAM (on HEADERS or DATA); reported after the frame's headers/data.
    case endStream(streamID: Int32)
    case streamClosed(streamID: Int32, errorCode: UInt32)
    case goAway(lastStreamID: Int32, errorCode: UInt32)
    /// We sent a frame carrying END_STREAM.
    case sentEndStream(streamID: Int32)
    /// We sent RST_STREAM (ours, or nghttp2's own, e.g. REFUSED_STREAM past SETTINGS_MAX_CONCURRENT_STREAMS).
    case sentReset(streamID: Int32, errorCode: UInt32)
}

/// How a data-provider read ended.
package enum NGHTTP2OutboundRead {
    /// Nothing to send now; the owner calls `resumeData` when bytes arrive.
    case deferred
    /// Bytes were written and more may follow.
    case more
    /// The body is complete; END_STREAM goes on the last DATA frame.
    case endStream
    /// The body is complete; these trailers follow in a HEADERS frame with END_STREAM.
    case trailers([HeaderField])
}

/// Supplies outbound DATA for streams submitted with a body.
package protocol NGHTTP2DataSource: AnyObject {
    /// Hands at most `maxLength` bytes to `write` (possibly in several slices).
    func readOutbound(streamID: Int32, maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead
}

/// Supplies outbound DATA without copying it: nghttp2 learns only how long the next frame is, and the bytes (often
/// slices of one response body shared by every stream that sends it) go from the queue straight to the channel
/// behind nghttp2's 9-byte frame header (`NGHTTP2_DATA_FLAG_NO_COPY` with a send-data callback).
package protocol NGHTTP2SharedDataSource: AnyObject {
    /// The payload length of the stream's next DATA frame (at most `maxLength`, 0 when nothing is queued) and what
    /// follows it; the bytes stay queued until `takeOutbound`.
    func nextOutbound(streamID: Int32, maxLength: Int) -> (length: Int, then: NGHTTP2OutboundRead)
    /// Removes exactly `length` queued bytes, handing them to `write` as one or more slices.
    func takeOutbound(streamID: Int32, length: Int, write: (ByteBuffer) -> Void)
}

/// One nghttp2 session: owns the `nghttp2_session*` and frees it in deinit. Not thread-safe: event-loop confined.
package final class NGHTTP2Session {
    package enum Role { case server, client }

    private var session: OpaquePointer?
    private var events: [NGHTTP2Event] = []
    private var headerBlocks: [Int32: [HeaderField]] = [:]
    private var headerBytes: [Int32: Int] = [:]
    /// The largest decoded header list accepted per HEADERS block (RFC 9113 counts name + value + 32 per field).
    /// HPACK lets a 1-byte reference decode to a 4 KB field, so without this bound a 16 KB frame could cost the
    /// server tens of megabytes; past it nghttp2 resets that stream alone.
    package static let maxHeaderListBytes = 16 << 10
    /// The HPACK table we keep for headers we send (nghttp2's default is 4096).
    package static let deflateTableBytes = 256
    private let allocator: ByteBufferAllocator
    package weak var dataSource: (any NGHTTP2DataSource)?
    /// When set, DATA is sent without copying (preferred over `dataSource`).
    package weak var sharedDataSource: (any NGHTTP2SharedDataSource)?
    /// Where output goes while `pump` runs: nghttp2's serialized frames and zero-copy DATA slices, in order.
    private var output = OutputChunks()
    /// The round's byte budget: nghttp2 sends zero-copy DATA frames inside one `mem_send` call without returning, so
    /// the send-data callback itself stops the round once it is spent (or a reader that never reads would have
    /// every queued byte moved into the channel at once).
    private var outputLimit = Int.max

    package init(role: Role, allocator: ByteBufferAllocator) throws(NGHTTP2Error) {
        self.allocator = allocator
        var callbacks: OpaquePointer?
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunkRecv)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSend)
        nghttp2_session_callbacks_set_send_data_callback(callbacks, onSendData)

        var options: OpaquePointer?
        try check(nghttp2_option_new(&options), "nghttp2_option_new")
        defer { nghttp2_option_del(options) }
        // Lets a client open many streams before the server's SETTINGS arrive; the server still enforces its limit.
        nghttp2_option_set_peer_max_concurrent_streams(options, 1 << 16)
        // Our own header blocks are a handful of short fields per stream: a 4 KiB HPACK table per connection would
        // cost more memory across thousands of idle proxies than it saves in bytes.
        nghttp2_option_set_max_deflate_dynamic_table_size(options, Self.deflateTableBytes)
        // Closed streams are kept only for the priority tree, which gRPC does not use.
        nghttp2_option_set_no_closed_streams(options, 1)

        let userData = Unmanaged.passUnretained(self).toOpaque()
        let rc: Int32
        switch role {
        case .server: rc = nghttp2_session_server_new2(&session, callbacks, userData, options)
        case .client: rc = nghttp2_session_client_new2(&session, callbacks, userData, options)
        }
        try check(rc, "nghttp2_session_new")
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: Input and output

    /// Feeds received bytes; returns the events they produced. Throws on a connection-fatal error.
    package func receive(_ bytes: ByteBuffer) throws(NGHTTP2Error) -> [NGHTTP2Event] {
        let rc = bytes.withUnsafeReadableBytes { raw -> Int in
            guard let base = raw.baseAddress, raw.count > 0 else { return 0 }
            return nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        if rc < 0 {
            throw NGHTTP2Error(code: Int32(truncatingIfNeeded: rc), operation: "nghttp2_session_mem_recv")
        }
        return takeEvents()
    }

    /// Appends serialized frames to `buffer` until it holds at least `limit` bytes or nghttp2 has nothing more.
    /// Zero-copy DATA, if a shared data source is set, is copied into `buffer` here (tests and tools only).
    package func produce(into buffer: inout ByteBuffer, limit: Int) throws(NGHTTP2Error) {
        output.reset(allocator: allocator)
        try serialize(limit: limit - buffer.readableBytes)
        for var chunk in output.take() { buffer.writeBuffer(&chunk) }
    }

    /// Runs nghttp2's serializer into `output` until it holds `limit` bytes or nghttp2 has nothing more.
    private func serialize(limit: Int) throws(NGHTTP2Error) {
        outputLimit = limit
        while output.byteCount < limit {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 {
                throw NGHTTP2Error(code: Int32(truncatingIfNeeded: count), operation: "nghttp2_session_mem_send")
            }
            guard count > 0, let data else { return }
            output.append(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    /// Serializes queued frames in chunks of up to 64 KiB while `canWrite()` holds, handing each chunk's buffers to
    /// `write` in order and the events its output produced (frame-sent, stream-closed) to `process`. Returns
    /// whether anything was written.
    package func pump(
        allocator: ByteBufferAllocator, canWrite: () -> Bool, process: ([NGHTTP2Event]) -> Void,
        write: (ByteBuffer) -> Void
    ) throws(NGHTTP2Error) -> Bool {
        var wrote = false
        while canWrite() {
            output.reset(allocator: allocator)
            try serialize(limit: 64 * 1024)
            let events = takeEvents()
            process(events)
            let chunks = output.take()
            for chunk in chunks { write(chunk) }
            if !chunks.isEmpty {
                wrote = true
            } else if events.isEmpty {
                break
            }
        }
        return wrote
    }

    /// Events recorded since the last call (from output callbacks such as frame-sent).
    package func takeEvents() -> [NGHTTP2Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    package var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    package var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }
    /// Frames nghttp2 has queued but not yet serialized (DATA is pulled lazily and not counted).
    package var outboundQueueSize: Int { nghttp2_session_get_outbound_queue_size(session) }
    package var lastProcessedStreamID: Int32 { nghttp2_session_get_last_proc_stream_id(session) }

    // MARK: Submissions

    package func submitSettings(maxConcurrentStreams: Int, initialWindowSize: Int) throws(NGHTTP2Error) {
        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: UInt32(clamping: maxConcurrentStreams)),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(clamping: min(initialWindowSize, Int(Int32.max)))),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: UInt32(Self.maxHeaderListBytes)),
        ]
        let rc = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        try check(rc, "nghttp2_submit_settings")
    }

    /// Sets the connection-level receive window (nghttp2 sends the WINDOW_UPDATE).
    package func setConnectionReceiveWindow(_ bytes: Int) throws(NGHTTP2Error) {
        let size = Int32(clamping: min(bytes, Int(Int32.max)))
        try check(
            nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, size),
            "nghttp2_session_set_local_window_size")
    }

    /// Submits response headers; with `hasBody` DATA is pulled from `dataSource`, otherwise END_STREAM is set.
    package func submitResponse(streamID: Int32, headers: [HeaderField], hasBody: Bool) throws(NGHTTP2Error) {
        let rc = withNVArray(headers) { nva, count in
            if hasBody {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: onDataRead)
                return nghttp2_submit_response(session, streamID, nva, count, &provider)
            }
            return nghttp2_submit_response(session, streamID, nva, count, nil)
        }
        try check(rc, "nghttp2_submit_response")
    }

    /// Submits a request whose body is pulled from `dataSource`; returns the new stream ID.
    package func submitRequest(headers: [HeaderField]) throws(NGHTTP2Error) -> Int32 {
        let rc = withNVArray(headers) { nva, count in
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: onDataRead)
            return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        try check(rc, "nghttp2_submit_request")
        return rc
    }

    package func submitRstStream(streamID: Int32, errorCode: HTTP2ErrorCode) {
        // Fails only for stream 0 or when the stream is already gone: nothing to do either way.
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode.rawValue)
    }

    /// GOAWAY naming the last stream we processed: streams after it are refused, earlier ones may finish.
    package func submitGoAway(errorCode: HTTP2ErrorCode) throws(NGHTTP2Error) {
        let rc = nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastProcessedStreamID,
            errorCode.rawValue, nil, 0)
        try check(rc, "nghttp2_submit_goaway")
    }

    /// Wakes a deferred data provider; harmless when the stream is not deferred or already gone.
    package func resumeData(streamID: Int32) {
        _ = nghttp2_session_resume_data(session, streamID)
    }

    // MARK: Callback plumbing (called from the C callbacks below)

    fileprivate func beginHeaders(streamID: Int32) {
        headerBlocks[streamID] = []
        headerBytes[streamID] = 0
    }

    /// Records one decoded field; false once the block is over `maxHeaderListBytes` (the caller resets the stream).
    fileprivate func header(streamID: Int32, nameLength: Int, valueLength: Int, decode: () -> HeaderField) -> Bool {
        let total = headerBytes[streamID, default: 0] + nameLength + valueLength + 32
        headerBytes[streamID] = total
        guard total <= Self.maxHeaderListBytes else {
            headerBlocks.removeValue(forKey: streamID)
            return false
        }
        headerBlocks[streamID, default: []].append(decode())
        return true
    }

    fileprivate func frameReceived(type: UInt8, flags: UInt8, streamID: Int32, goAway: (Int32, UInt32)?) {
        let endStream = flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(type) {
        case NGHTTP2_HEADERS.rawValue:
            headerBytes.removeValue(forKey: streamID)
            events.append(.headers(streamID: streamID, fields: headerBlocks.removeValue(forKey: streamID) ?? []))
            if endStream { events.append(.endStream(streamID: streamID)) }
        case NGHTTP2_DATA.rawValue:
            if endStream { events.append(.endStream(streamID: streamID)) }
        case NGHTTP2_GOAWAY.rawValue:
            if let (last, code) = goAway { events.append(.goAway(lastStreamID: last, errorCode: code)) }
        default:
            break
        }
    }

    fileprivate func dataChunk(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        events.append(.data(streamID: streamID, bytes: buffer))
    }

    fileprivate func streamClosed(streamID: Int32, errorCode: UInt32) {
        headerBlocks.removeValue(forKey: streamID)
        headerBytes.removeValue(forKey: streamID)
        events.append(.streamClosed(streamID: streamID, errorCode: errorCode))
    }

    fileprivate func frameSent(type: UInt8, flags: UInt8, streamID: Int32, resetCode: UInt32) {
        if UInt32(type) == NGHTTP2_RST_STREAM.rawValue {
            events.append(.sentReset(streamID: streamID, errorCode: resetCode))
        }
        let isStreamFrame = UInt32(type) == NGHTTP2_HEADERS.rawValue || UInt32(type) == NGHTTP2_DATA.rawValue
        if isStreamFrame && flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 {
            events.append(.sentEndStream(streamID: streamID))
        }
    }

    /// Fills nghttp2's DATA buffer, or with a shared data source only says how long the frame is; returns the byte
    /// count or a negative nghttp2 error.
    fileprivate func readData(
        streamID: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) throws(NGHTTP2Error) -> Int {
        var written = 0
        let result: NGHTTP2OutboundRead
        if let sharedDataSource {
            (written, result) = sharedDataSource.nextOutbound(streamID: streamID, maxLength: length)
            if written > 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue }
        } else if let dataSource {
            result = dataSource.readOutbound(streamID: streamID, maxLength: length) { slice in
                let count = min(slice.readableBytes, length - written)
                slice.withUnsafeReadableBytes { raw in
                    UnsafeMutableRawPointer(buf + written).copyMemory(from: raw.baseAddress!, byteCount: count)
                }
                written += count
            }
        } else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        switch result {
        case .deferred:
            return written > 0 ? written : Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .more:
            return written
        case .endStream:
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return written
        case .trailers(let fields):
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            let rc = withNVArray(fields) { nva, count in nghttp2_submit_trailer(session, streamID, nva, count) }
            try check(rc, "nghttp2_submit_trailer")
            return written
        }
    }

    /// A zero-copy DATA frame is due: its 9-byte header, then exactly `length` bytes from the shared data source.
    fileprivate func sendData(streamID: Int32, frameHeader: UnsafeRawBufferPointer, length: Int) -> SendDataResult {
        guard output.byteCount < outputLimit else { return .later }
        guard let sharedDataSource else { return .failed }
        output.append(frameHeader)
        var taken = 0
        sharedDataSource.takeOutbound(streamID: streamID, length: length) { slice in
            taken += slice.readableBytes
            output.append(slice)
        }
        return taken == length ? .sent : .failed
    }

    fileprivate enum SendDataResult { case sent, later, failed }

    /// Builds a temporary `nghttp2_nv` array; nghttp2 copies the fields, so the storage is scoped to `body`.
    private func withNVArray<R>(_ fields: [HeaderField], _ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
        var storage: [UInt8] = []
        var ranges: [(name: Range<Int>, value: Range<Int>)] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let nameStart = storage.count
            storage.append(contentsOf: field.name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: field.value.utf8)
            ranges.append((nameStart..<valueStart, valueStart..<storage.count))
        }
        storage.append(0)  // never empty, so baseAddress is non-nil
        return storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress!
            let nva = ranges.map { range in
                nghttp2_nv(
                    name: base + range.name.lowerBound, value: base + range.value.lowerBound,
                    namelen: range.name.count, valuelen: range.value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }
}

private func check(_ rc: Int32, _ operation: String) throws(NGHTTP2Error) {
    if rc < 0 { throw NGHTTP2Error(code: rc, operation: operation) }
}

private func owner(_ userData: UnsafeMutableRawPointer?) -> NGHTTP2Session {
    Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
}

private func string(_ pointer: UnsafePointer<UInt8>?, _ count: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
}

// MARK: C callbacks: recover the Swift session and record events; never re-enter nghttp2 (except submit_trailer).

private func onBeginHeaders(_: OpaquePointer?, frame: UnsafePointer<nghttp2_frame>?, userData: UnsafeMutableRawPointer?)
    -> Int32
{
    guard let frame else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    owner(userData).beginHeaders(streamID: frame.pointee.hd.stream_id)
    return 0
}

private func onHeader(
    _: OpaquePointer?, frame: UnsafePointer<nghttp2_frame>?, name: UnsafePointer<UInt8>?,
    nameLength: Int, value: UnsafePointer<UInt8>?, valueLength: Int, flags: UInt8, userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    let accepted = owner(userData).header(
        streamID: frame.pointee.hd.stream_id, nameLength: nameLength,
        valueLength: valueLength
    ) { (string(name, nameLength), string(value, valueLength)) }
    // TEMPORAL_CALLBACK_FAILURE resets only this stream; the connection and its other streams go on.
    return accepted ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
}

private func onFrameRecv(_: OpaquePointer?, frame: UnsafePointer<nghttp2_frame>?, userData: UnsafeMutableRawPointer?)
    -> Int32
{
    guard let frame else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    let hd = frame.pointee.hd
    let goAway: (Int32, UInt32)? =
        UInt32(hd.type) == NGHTTP2_GOAWAY.rawValue
        ? (frame.pointee.goaway.last_stream_id, frame.pointee.goaway.error_code) : nil
    owner(userData).frameReceived(type: hd.type, flags: hd.flags, streamID: hd.stream_id, goAway: goAway)
    return 0
}

private func onDataChunkRecv(
    _: OpaquePointer?, flags: UInt8, streamID: Int32, data: UnsafePointer<UInt8>?, length: Int,
    userData: UnsafeMutableRawPointer?
) -> Int32 {
    owner(userData).dataChunk(streamID: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length))
    return 0
}

private func onStreamClose(_: OpaquePointer?, streamID: Int32, errorCode: UInt32, userData: UnsafeMutableRawPointer?)
    -> Int32
{
    owner(userData).streamClosed(streamID: streamID, errorCode: errorCode)
    return 0
}

private func onFrameSend(_: OpaquePointer?, frame: UnsafePointer<nghttp2_frame>?, userData: UnsafeMutableRawPointer?)
    -> Int32
{
    guard let frame else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    let header = frame.pointee.hd, isReset = UInt32(header.type) == NGHTTP2_RST_STREAM.rawValue
    owner(userData).frameSent(
        type: header.type, flags: header.flags, streamID: header.stream_id,
        resetCode: isReset ? frame.pointee.rst_stream.error_code : 0)
    return 0
}

private func onSendData(
    _: OpaquePointer?, frame: UnsafeMutablePointer<nghttp2_frame>?, frameHeader: UnsafePointer<UInt8>?, length: Int,
    source: UnsafeMutablePointer<nghttp2_data_source>?, userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame, let frameHeader else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    // No padding is ever requested (no select-padding callback), so the frame is exactly header + payload.
    guard frame.pointee.data.padlen == 0 else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    let header = UnsafeRawBufferPointer(start: frameHeader, count: 9)
    switch owner(userData).sendData(streamID: frame.pointee.hd.stream_id, frameHeader: header, length: length) {
    case .sent: return 0
    // WOULDBLOCK: nghttp2 keeps the frame and calls again with the same arguments in the next round.
    case .later: return NGHTTP2_ERR_WOULDBLOCK.rawValue
    // A source that cannot produce the bytes it announced leaves the connection unrecoverable (a frame header is
    // already out): CALLBACK_FAILURE ends the session.
    case .failed: return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
    }
}

private func onDataRead(
    _: OpaquePointer?, streamID: Int32, buf: UnsafeMutablePointer<UInt8>?, length: Int,
    dataFlags: UnsafeMutablePointer<UInt32>?, source: UnsafeMutablePointer<nghttp2_data_source>?,
    userData: UnsafeMutableRawPointer?
) -> Int {
    guard let buf, let dataFlags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
    do {
        return try owner(userData).readData(streamID: streamID, into: buf, length: length, flags: dataFlags)
    } catch {
        // A Swift throw becomes CALLBACK_FAILURE, which nghttp2 treats as fatal for the session.
        return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
    }
}

/// Output gathered during one `pump` round: nghttp2's serialized bytes are copied into a small growing buffer, and a
/// zero-copy DATA payload is kept as the slices it came in, so the channel writes them without copying.
private struct OutputChunks {
    private var chunks: [ByteBuffer] = []
    private var current: ByteBuffer?
    private var allocator = ByteBufferAllocator()
    private(set) var byteCount = 0

    mutating func reset(allocator: ByteBufferAllocator) {
        self.allocator = allocator
        chunks.removeAll(keepingCapacity: true)
        current = nil
        byteCount = 0
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if current == nil { current = allocator.buffer(capacity: max(bytes.count, 512)) }
        current!.writeBytes(bytes)
        byteCount += bytes.count
    }

    mutating func append(_ slice: ByteBuffer) {
        if let pending = current {
            chunks.append(pending)
            current = nil
        }
        chunks.append(slice)
        byteCount += slice.readableBytes
    }

    /// Everything gathered, in order; the gatherer is empty afterwards.
    mutating func take() -> [ByteBuffer] {
        if let pending = current {
            chunks.append(pending)
            current = nil
        }
        let all = chunks
        chunks = []
        return all
    }
}
