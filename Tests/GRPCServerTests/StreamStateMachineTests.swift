import Testing

@testable import GRPCServer

/// Every transition of `StreamStateMachine`, legal and illegal, without a channel.
@Suite struct StreamStateMachineTests {
    typealias Machine = StreamStateMachine

    /// A machine driven to `open(.open, .streaming)`.
    func streaming() -> Machine {
        var machine = Machine()
        let r1 = machine.requestAccepted()
        #expect(r1 == nil)
        let r2 = machine.sendQueued()
        #expect(r2 == .submitHeaders)
        return machine
    }

    func names(_ fields: [HeaderField]) -> [String] { fields.map { "\($0.name)=\($0.value)" } }

    @Test func acceptOpensOnceAndOnlyFromIdle() {
        var machine = Machine()
        #expect(machine.state == .idle(inbound: .open))
        #expect(!machine.deliversInbound)
        #expect(machine.receivedData() == .discard(.notOpen))
        let r3 = machine.sendQueued()
        #expect(r3 == .drop(.notOpen))
        let r4 = machine.requestAccepted()
        #expect(r4 == nil)
        #expect(machine.state == .open(inbound: .open, response: .notStarted))
        let r5 = machine.requestAccepted()
        #expect(r5 == .notOpen)
        _ = machine.closed()
        let r6 = machine.requestAccepted()
        #expect(r6 == .alreadyClosed)
    }

    @Test func firstSendSubmitsHeadersLaterOnesResume() {
        var machine = streaming()
        #expect(machine.state == .open(inbound: .open, response: .streaming))
        let r7 = machine.sendQueued()
        #expect(r7 == .resumeData)
        let r8 = machine.sendQueued()
        #expect(r8 == .resumeData)
    }

    @Test func messagesAreDeliveredWhileOpenAndEndIsDeliveredOnce() {
        var machine = streaming()
        #expect(machine.receivedData() == .accept)
        #expect(machine.messageDeframed() == .accept)
        let r9 = machine.receivedEnd(partialMessage: false)
        #expect(r9 == .deliverEnd)
        #expect(machine.state == .open(inbound: .closed, response: .streaming))
        #expect(machine.receivedData() == .discard(.notOpen))
        let r10 = machine.receivedEnd(partialMessage: false)
        #expect(r10 == .ignore(.notOpen))
        // The response side is unaffected by the client's half-close.
        let r11 = machine.sendQueued()
        #expect(r11 == .resumeData)
    }

    @Test func endInsideAMessageFailsTheStream() {
        var machine = streaming()
        guard case .fail(let status) = machine.receivedEnd(partialMessage: true) else {
            Issue.record("expected a failure")
            return
        }
        #expect(status.code == .internalError)
    }

    @Test func finishBeforeAnyMessageIsTrailersOnly() {
        var machine = Machine()
        _ = machine.requestAccepted()
        guard case .submitTrailersOnly(let fields) = machine.finish(httpStatus: "200", trailers: [("grpc-status", "5")])
        else {
            Issue.record("expected Trailers-Only")
            return
        }
        #expect(names(fields) == [":status=200", "content-type=application/grpc", "grpc-status=5"])
        #expect(machine.state == .done(inbound: .open, ending: .trailers))
        #expect(machine.isFinished)
        let r12 = machine.sendQueued()
        #expect(r12 == .drop(.alreadyFinished))
        #expect(machine.messageDeframed() == .discard(.alreadyFinished))
    }

    @Test func rejectedRequestGoesOutTrailersOnlyFromIdle() {
        var machine = Machine()
        guard case .submitTrailersOnly(let fields) = machine.finish(httpStatus: "415", trailers: []) else {
            Issue.record("expected Trailers-Only")
            return
        }
        #expect(names(fields).first == ":status=415")
        let r13 = machine.requestAccepted()
        #expect(r13 == .notOpen)
    }

    @Test func finishWhileStreamingWaitsForTheQueueToDrain() {
        var machine = streaming()
        guard case .resumeData = machine.finish(httpStatus: "200", trailers: [("grpc-status", "0")]) else {
            Issue.record("expected trailers after data")
            return
        }
        #expect(machine.state == .finishing(inbound: .open))
        let r14 = machine.sendQueued()
        #expect(r14 == .drop(.alreadyFinished))
        let trailers = machine.outboundDrained()
        #expect(trailers.map(names) == ["grpc-status=0"])
        #expect(machine.state == .done(inbound: .open, ending: .trailers))
        let r15 = machine.outboundDrained()
        #expect(r15 == nil)
    }

    @Test func drainedQueueWithoutFinishSendsNoTrailers() {
        var machine = streaming()
        let r16 = machine.outboundDrained()
        #expect(r16 == nil)
        #expect(machine.state == .open(inbound: .open, response: .streaming))
    }

    @Test func finishIsIdempotent() {
        var machine = streaming()
        _ = machine.finish(httpStatus: "200", trailers: [("grpc-status", "0")])
        guard case .ignore(.alreadyFinished) = machine.finish(httpStatus: "200", trailers: [("grpc-status", "13")])
        else {
            Issue.record("second finish must be ignored")
            return
        }
        // The first finish's trailers are the ones sent.
        let r17 = machine.outboundDrained()
        #expect(r17.map(names) == ["grpc-status=0"])
        _ = machine.closed()
        guard case .ignore(.alreadyClosed) = machine.finish(httpStatus: "200", trailers: []) else {
            Issue.record("finish after close must be ignored")
            return
        }
    }

    @Test func trailersBeforeTheClientsEndAreFollowedByAReset() {
        var machine = streaming()
        _ = machine.finish(httpStatus: "200", trailers: [])
        _ = machine.outboundDrained()
        #expect(machine.sentEndStream() == .resetNoError)
    }

    @Test func trailersAfterTheClientsEndNeedNoReset() {
        var machine = streaming()
        let r18 = machine.receivedEnd(partialMessage: false)
        #expect(r18 == .deliverEnd)
        _ = machine.finish(httpStatus: "200", trailers: [])
        #expect(machine.state == .finishing(inbound: .closed))
        #expect(machine.sentEndStream() == .none)
    }

    @Test func endAfterFinishIsRecordedButNotDelivered() {
        var machine = streaming()
        _ = machine.finish(httpStatus: "200", trailers: [])
        let r19 = machine.receivedEnd(partialMessage: true)
        #expect(r19 == .ignore(.alreadyFinished))
        #expect(machine.state == .finishing(inbound: .closed))
        _ = machine.outboundDrained()
        #expect(machine.state == .done(inbound: .closed, ending: .trailers))
        #expect(machine.sentEndStream() == .none)
    }

    @Test func deadlineWithNothingQueuedFinishes() {
        var machine = streaming()
        guard case .finish(let status) = machine.deadlineFired(outboundEmpty: true) else {
            Issue.record("expected DEADLINE_EXCEEDED trailers")
            return
        }
        #expect(status.code == .deadlineExceeded)
        // The machine moves when the stream carries out that finish.
        #expect(machine.state == .open(inbound: .open, response: .streaming))
    }

    @Test func deadlineWithBytesQueuedResets() {
        var machine = streaming()
        guard case .reset = machine.deadlineFired(outboundEmpty: false) else {
            Issue.record("expected RST_STREAM CANCEL")
            return
        }
        #expect(machine.state == .done(inbound: .open, ending: .reset))
        #expect(machine.receivedData() == .discard(.alreadyFinished))
        guard case .ignore(.alreadyFinished) = machine.deadlineFired(outboundEmpty: true) else {
            Issue.record("a second deadline must be ignored")
            return
        }
    }

    @Test func forcedShutdownDropsTrailersPendingBehindData() {
        var machine = streaming()
        _ = machine.finish(httpStatus: "200", trailers: [("grpc-status", "0")])
        guard case .reset = machine.shutdownForced(outboundEmpty: false) else {
            Issue.record("expected RST_STREAM CANCEL")
            return
        }
        let r20 = machine.outboundDrained()
        #expect(r20 == nil)
        #expect(machine.state == .done(inbound: .open, ending: .reset))
    }

    @Test func forcedShutdownOfAQuietStreamIsUnavailable() {
        var machine = Machine()
        _ = machine.requestAccepted()
        guard case .finish(let status) = machine.shutdownForced(outboundEmpty: true) else {
            Issue.record("expected UNAVAILABLE")
            return
        }
        #expect(status.code == .unavailable)
    }

    @Test func cancelAfterCloseIsIgnored() {
        var machine = streaming()
        let r21 = machine.closed()
        #expect(r21 == .notifyHandler)
        guard case .ignore(.alreadyClosed) = machine.shutdownForced(outboundEmpty: false) else {
            Issue.record("expected ignore")
            return
        }
    }

    @Test func closeNotifiesOnceFromEveryState() {
        let fromIdle = Machine()
        let fromOpen = streaming()
        var fromFinishing = streaming()
        _ = fromFinishing.finish(httpStatus: "200", trailers: [])
        var fromDone = Machine()
        _ = fromDone.finish(httpStatus: "200", trailers: [])
        for machine in [fromIdle, fromOpen, fromFinishing, fromDone] {
            var machine = machine
            let r22 = machine.closed()
            #expect(r22 == .notifyHandler)
            #expect(machine.isClosed)
            let r23 = machine.closed()
            #expect(r23 == .ignore(.alreadyClosed))
            let r24 = machine.sendQueued()
            #expect(r24 == .drop(.alreadyClosed))
            #expect(machine.receivedData() == .discard(.alreadyClosed))
            let r25 = machine.receivedEnd(partialMessage: false)
            #expect(r25 == .ignore(.alreadyClosed))
            #expect(machine.sentEndStream() == .none)
        }
    }
}
