import Testing

@testable import GRPCServer

/// Every transition of `ConnectionStateMachine`, legal and illegal, without a channel.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    func active(streams: Int, idleTimeout: Bool = true) -> Machine {
        var machine = Machine(idleTimeoutEnabled: idleTimeout)
        for _ in 0..<streams { _ = machine.streamOpened() }
        return machine
    }

    @Test func firstStreamEndsTheHandshakeAndMarksServing() {
        var machine = Machine(idleTimeoutEnabled: true)
        #expect(machine.state == .awaitingFirstRequest)
        #expect(machine.acceptsInput)
        let r1 = machine.streamOpened()
        #expect(r1 == .init(cancelHandshakeTimer: true, markServing: true))
        #expect(machine.state == .active(openStreams: 1))
        let r2 = machine.streamOpened()
        #expect(r2 == .init(cancelHandshakeTimer: false, markServing: false))
        #expect(machine.state == .active(openStreams: 2))
    }

    @Test func handshakeTimeoutClosesOnlyBeforeTheFirstRequest() {
        var waiting = Machine(idleTimeoutEnabled: true)
        let r3 = waiting.handshakeTimerFired()
        #expect(r3 == .close)
        #expect(waiting.state == .closing)
        #expect(!waiting.acceptsInput)
        var serving = active(streams: 1)
        let r4 = serving.handshakeTimerFired()
        #expect(r4 == .none)
        #expect(serving.state == .active(openStreams: 1))
    }

    @Test func lastStreamClosingMakesTheConnectionIdleOnce() {
        var machine = active(streams: 2)
        let r5 = machine.streamClosed()
        #expect(r5 == .none)
        let r6 = machine.streamClosed()
        #expect(r6 == .becameIdle(armIdleTimer: true))
        #expect(machine.idleTimerArmed)
        // A stream that opens again stops the idle timer; closing it arms a fresh one.
        let r7 = machine.streamOpened()
        #expect(r7 == .init(cancelHandshakeTimer: false, markServing: true))
        #expect(!machine.idleTimerArmed)
        let r8 = machine.streamClosed()
        #expect(r8 == .becameIdle(armIdleTimer: true))
    }

    @Test func withoutAnIdleTimeoutNoTimerIsArmed() {
        var machine = active(streams: 1, idleTimeout: false)
        let r9 = machine.streamClosed()
        #expect(r9 == .becameIdle(armIdleTimer: false))
    }

    @Test func moreClosesThanOpensAreIgnored() {
        var machine = Machine(idleTimeoutEnabled: true)
        let r10 = machine.streamClosed()
        #expect(r10 == .none)
        #expect(machine.state == .awaitingFirstRequest)
        var idle = active(streams: 1)
        _ = idle.streamClosed()
        let r11 = idle.streamClosed()
        #expect(r11 == .none)
        #expect(idle.state == .active(openStreams: 0))
    }

    @Test func idleTimerSendsGoAwayOnlyWhenStillIdle() {
        var idle = active(streams: 1)
        _ = idle.streamClosed()
        let r12 = idle.idleTimerFired()
        #expect(r12 == .sendGoAway)
        #expect(idle.state == .draining(openStreams: 0))
        let r13 = idle.idleTimerFired()
        #expect(r13 == .none)
        var busy = active(streams: 1)
        let r14 = busy.idleTimerFired()
        #expect(r14 == .none)
        #expect(busy.state == .active(openStreams: 1))
    }

    @Test func gracefulShutdownDrainsOpenStreamsThenCloses() {
        var machine = active(streams: 1)
        let r15 = machine.gracefulShutdown()
        #expect(r15 == .sendGoAway)
        #expect(machine.state == .draining(openStreams: 1))
        #expect(machine.isDraining)
        let r16 = machine.gracefulShutdown()
        #expect(r16 == .none)
        // Still a stream open: the pump does not close.
        let r17 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: false)
        #expect(r17 == .init())
        let r18 = machine.streamClosed()
        #expect(r18 == .becameIdle(armIdleTimer: false))
        // The last stream is done but GOAWAY or trailers are still queued: wait for them.
        let r19 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: true)
        #expect(r19.closeAfterFlush == false)
        let r20 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: false)
        #expect(r20.closeAfterFlush)
        #expect(machine.state == .closing)
    }

    @Test func gracefulShutdownBeforeAnyRequestDrainsAtOnce() {
        var machine = Machine(idleTimeoutEnabled: true)
        let r21 = machine.gracefulShutdown()
        #expect(r21 == .sendGoAway)
        #expect(machine.state == .draining(openStreams: 0))
        let r22 = machine.handshakeTimerFired()
        #expect(r22 == .none)
    }

    @Test func streamsBelowTheGoAwayStillCountWhileDraining() {
        var machine = active(streams: 0)
        _ = machine.gracefulShutdown()
        let r23 = machine.streamOpened()
        #expect(r23.markServing)
        #expect(machine.state == .draining(openStreams: 1))
    }

    @Test func forcedShutdownEndsStreamsOnceFromAnyLiveState() {
        for var machine in [Machine(idleTimeoutEnabled: true), active(streams: 3)] {
            let r24 = machine.forcedShutdown()
            #expect(r24 == .forceCloseStreams)
            #expect(machine.state == .closing)
            let r25 = machine.forcedShutdown()
            #expect(r25 == .none)
            let r26 = machine.gracefulShutdown()
            #expect(r26 == .none)
        }
        var draining = active(streams: 1)
        _ = draining.gracefulShutdown()
        let r27 = draining.forcedShutdown()
        #expect(r27 == .forceCloseStreams)
    }

    @Test func protocolErrorFlushesThenClosesOnce() {
        var machine = active(streams: 1)
        let r28 = machine.protocolError()
        #expect(r28 == .flushAndClose)
        #expect(!machine.acceptsInput)
        let r29 = machine.protocolError()
        #expect(r29 == .none)
        // Streams closing while the connection closes do not make it idle.
        let r30 = machine.streamClosed()
        #expect(r30 == .none)
        let r31 = machine.streamOpened()
        #expect(r31 == .init())
    }

    @Test func sessionDoneClosesAfterFlush() {
        var machine = active(streams: 1)
        let r32 = machine.outputPumped(canRead: true, sessionWantsRead: false, sessionWantsWrite: false)
        #expect(r32.closeAfterFlush)
        #expect(machine.state == .closing)
        let r33 = machine.outputPumped(canRead: true, sessionWantsRead: false, sessionWantsWrite: false)
        #expect(r33 == .init())
    }

    @Test func channelFailureAndCloseAreTerminal() {
        var machine = active(streams: 1)
        let r34 = machine.channelFailed()
        #expect(r34 == .close)
        machine.channelClosed()
        #expect(machine.state == .closed)
        let r35 = machine.channelFailed()
        #expect(r35 == .none)
        let r36 = machine.handshakeTimerFired()
        #expect(r36 == .none)
        let r37 = machine.idleTimerFired()
        #expect(r37 == .none)
        let r38 = machine.forcedShutdown()
        #expect(r38 == .none)
        let r39 = machine.flushRequested()
        #expect(!r39)
    }

    @Test func heldReadResumesWhenPressureEnds() {
        var machine = active(streams: 1)
        let r40 = machine.readRequested(canRead: true)
        #expect(r40)
        #expect(!machine.readHeld)
        let r41 = machine.readRequested(canRead: false)
        #expect(!r41)
        #expect(machine.readHeld)
        // Still backed up after a pump: keep holding.
        let r42 = machine.outputPumped(canRead: false, sessionWantsRead: true, sessionWantsWrite: true)
        #expect(!r42.resumeRead)
        let r43 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: true)
        #expect(r43.resumeRead)
        #expect(!machine.readHeld)
        let r44 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: true)
        #expect(!r44.resumeRead)
    }

    @Test func heldReadIsNotResumedOnceClosing() {
        var machine = active(streams: 1)
        _ = machine.readRequested(canRead: false)
        _ = machine.protocolError()
        let r45 = machine.outputPumped(canRead: true, sessionWantsRead: true, sessionWantsWrite: true)
        #expect(!r45.resumeRead)
    }

    @Test func oneFlushIsScheduledPerTick() {
        var machine = active(streams: 1)
        let r46 = machine.flushRequested()
        #expect(r46)
        let r47 = machine.flushRequested()
        #expect(!r47)
        machine.flushRan()
        let r48 = machine.flushRequested()
        #expect(r48)
    }
}
