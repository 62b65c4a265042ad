/**
 * Which process holds NAME-failover, in a form another kpg on the same
 * machine can check: the kernel's boot id, the pid namespace and the pid. A
 * run that finds the lease held by a process of its own boot and pid
 * namespace that no longer exists (a kpg killed by SIGKILL or a closed
 * terminal) takes the lease at once instead of waiting it out. Anything else
 * — another machine, another container, a pid that exists (even reused by
 * another program) — proves nothing, and the lease is waited out.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** On NAME-failover: "HOLDER BOOT/PIDNS/PID", the holder identity and its process. */
export const HOLDER_PROCESS_ANNOTATION = 'kpg.io/holder-process';

/** The annotation's value for `holder`, run by this process; undefined where it cannot be told. */
export function holderProcessValue(holder: string): string | undefined {
  const me = thisProcess();
  return me ? `${holder} ${me}` : undefined;
}

/**
 * True only when `value` (the annotation) is `holder`'s own and names a
 * process of this machine that has exited. Another writer (kubectl apply of
 * a Lease, say) may set the holder and leave an older annotation behind.
 */
export function holderGone(holder: string | undefined, value: string | undefined): boolean {
  const cut = value?.lastIndexOf(' ') ?? -1;
  if (!holder || !value || cut < 0 || value.slice(0, cut) !== holder) return false;
  return holderProvablyGone(value.slice(cut + 1));
}

/** Where a process lives: its kernel boot and pid namespace. Undefined off Linux. */
function home(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidns = readlinkSync('/proc/self/ns/pid');
    return boot && pidns ? `${boot}/${pidns}` : undefined;
  } catch {
    return undefined;
  }
}

/** This process: "BOOT/PIDNS/PID", or undefined where it cannot be told. */
export function thisProcess(): string | undefined {
  const h = home();
  return h ? `${h}/${process.pid}` : undefined;
}

/** Does `kill -0` say the pid is gone? */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * True only when `token` (from the lease) names a process of this boot and
 * pid namespace, other than this one, that does not exist any more.
 */
export function holderProvablyGone(
  token: string | undefined,
  here: string | undefined = home(),
  gone: (pid: number) => boolean = pidGone,
): boolean {
  if (!token || !here) return false;
  const cut = token.lastIndexOf('/');
  const pid = Number(token.slice(cut + 1));
  if (token.slice(0, cut) !== here || !Number.isInteger(pid) || pid <= 0) return false;
  return pid !== process.pid && gone(pid);
}
