/** Human text for the plan and the result (the command prints it). Pure. */
import { formatDuration } from '../cli/progress.js';
import { formatBytes, formatLsn } from './lsn.js';
import type { FailoverResult } from './index.js';
import type { Plan } from './types.js';

export function planLines(plan: Plan): string[] {
  const lines = [
    `${plan.kind} of the primary ${plan.oldPrimary} (${plan.oldPrimaryHealth}: ${plan.healthDetail})`,
    `  new primary:   ${plan.target} — ${plan.why}`,
    `  reference LSN: ${plan.referenceLsn !== undefined ? formatLsn(plan.referenceLsn) : 'unknown'} (${plan.referenceSource}); target at ${plan.targetLsn !== undefined ? formatLsn(plan.targetLsn) : 'unknown'}, lag ${formatBytes(plan.lagBytes)}`,
    plan.kind === 'switchover'
      ? '  expected loss: none (the old primary is stopped cleanly and the target receives all of its WAL first)'
      : `  expected loss: ${plan.expectedLossBytes === 0n ? 'none known' : `up to ${plan.expectedLossBytes} bytes of WAL`}${plan.forced ? ' (--force)' : ''}`,
  ];
  for (const c of plan.candidates) {
    if (c.pod === plan.target) continue;
    lines.push(
      `  ${c.pod}: ${c.eligible ? `standby, lag ${formatBytes(c.lagBytes ?? 0n)}` : `not eligible: ${c.reason ?? ''}`}`,
    );
  }
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  return lines;
}

export function summaryLine(r: FailoverResult): string {
  if (r.rolledBack)
    return `rolled back ${r.cluster}: ${r.oldPrimary} is the primary (${formatDuration(r.totalMs)})`;
  const verb = r.kind === 'switchover' ? 'switched over' : 'failed over';
  const loss = r.possibleLossBytes > 0 ? `, up to ${r.possibleLossBytes} bytes may be lost` : '';
  const tl = r.timeline !== undefined ? `timeline ${r.timeline}, ` : '';
  return `${verb} ${r.cluster}: ${r.oldPrimary} → ${r.newPrimary} (${tl}${formatDuration(r.totalMs)}${loss})`;
}
