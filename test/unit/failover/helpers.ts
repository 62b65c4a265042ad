import { parseLsn } from '../../../src/lib/failover/lsn.js';
import type { MemberState } from '../../../src/lib/failover/types.js';

const L = (s: string) => parseLsn(s) ?? 0n;

export function primaryOf(pod: string, lsn: string, peers: [string, string][] = []): MemberState {
  return {
    pod,
    exists: true,
    ready: true,
    containerRunning: true,
    probed: true,
    postmaster: true,
    standbySignal: false,
    accepts: true,
    inRecovery: false,
    currentLsn: L(lsn),
    timeline: 1,
    startState: 'running',
    peers: peers.map(([name, state]) => ({ name, state })),
  };
}

export function standbyOf(
  pod: string,
  receive: string,
  replay = receive,
  extra: Partial<MemberState> = {},
): MemberState {
  return {
    pod,
    exists: true,
    ready: true,
    containerRunning: true,
    probed: true,
    postmaster: true,
    standbySignal: true,
    accepts: true,
    inRecovery: true,
    receiveLsn: L(receive),
    replayLsn: L(replay),
    timeline: 1,
    startState: 'running',
    walReceiver: 'streaming',
    ...extra,
  };
}

export function downOf(pod: string, extra: Partial<MemberState> = {}): MemberState {
  return {
    pod,
    exists: true,
    ready: false,
    containerRunning: true,
    probed: false,
    probeError: 'exec postgres failed: container not found',
    postmaster: false,
    standbySignal: false,
    accepts: false,
    ...extra,
  };
}
