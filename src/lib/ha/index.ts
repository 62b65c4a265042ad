/** The in-pod election and its rules, shared by the agent (src/agent) and kpg failover. Pure. */
export * from './candidate.js';
export * from './clock.js';
export * from './decide.js';
export * from './diverged.js';
export * from './elector.js';
export * from './fence.js';
export * from './handover.js';
export * from './identity.js';
export * from './lease-record.js';
export * from './start-gate.js';
export * from './timing.js';
export type * from './types.js';
