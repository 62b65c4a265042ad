/**
 * Waiting out a scale of the StatefulSet (its replicas are set by the
 * server-side apply of `kpg apply`): new pods come up as standbys and stream
 * from the primary; removed pods (the highest ordinals) go away, and their
 * PVCs stay, as StatefulSets keep them.
 */
import type { ScaleStep } from './apply-plan.js';
import { podIsReady, waitStreaming, type PodObject, type RolloutContext } from './rollout.js';

/** Waits for each added pod to be Ready and streaming from the primary. */
export async function waitScaledUp(ctx: RolloutContext, step: ScaleStep): Promise<void> {
  if (step.added.length === 0) return;
  ctx.onStep?.(
    `waiting for the new standbys ${step.added.join(', ')} (base backup, then streaming)`,
  );
  await ctx.kube.waitFor<PodObject>(
    'Pod',
    ctx.namespace,
    { labelSelector: `kubedb.com/kind=Postgres,kubedb.com/name=${ctx.name}` },
    (pods) => step.added.every((n) => podIsReady(pods.find((p) => p.metadata?.name === n))),
    {
      timeoutMs: ctx.timeoutMs,
      description: `pods ${step.added.join(', ')} to be Ready`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
  );
  await waitStreaming(ctx, step.added);
  ctx.onStep?.(`new standbys streaming: ${step.added.join(', ')}`);
}

/** Waits for the removed pods to be gone. */
export async function waitScaledDown(ctx: RolloutContext, step: ScaleStep): Promise<void> {
  if (step.removed.length === 0) return;
  ctx.onStep?.(`waiting for ${step.removed.join(', ')} to stop`);
  await ctx.kube.waitFor<PodObject>(
    'Pod',
    ctx.namespace,
    { labelSelector: `kubedb.com/kind=Postgres,kubedb.com/name=${ctx.name}` },
    (pods) => !pods.some((p) => step.removed.includes(p.metadata?.name ?? '')),
    {
      timeoutMs: ctx.timeoutMs,
      description: `pods ${step.removed.join(', ')} to be gone`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
  );
  ctx.onStep?.(`removed ${step.removed.join(', ')}`);
}
