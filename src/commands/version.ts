import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { BaseCommand } from '../lib/cli/base.js';
import {
  kubeFlags,
  kubeFromFlags,
  listFlags,
  listScope,
  textOutputFlag,
} from '../lib/cli/kube-flags.js';
import { AGENT_BUNDLE_PATH } from '../lib/cluster/agent-bundle.js';
import {
  bundleHash,
  collectVersions,
  formatVersion,
  type VersionReport,
} from '../lib/cluster/version.js';

export default class Version extends BaseCommand<typeof Version> {
  static override summary =
    "kpg's version, the API server's, and the agent build each cluster's pods run.";

  static override description = `Prints this kpg's version and Node.js, the API server's version (GET /version), and for every cluster in the namespace (-A: all) which build of the in-pod agent its pods run: the bundle's hash (the pod annotation kpg.io/agent-hash) and whether it is the one this kpg delivers (kpg apply with this kpg delivers it, restarting the pods). --client prints only this kpg's version and asks no cluster.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --client',
    '<%= config.bin %> <%= command.id %> -A -o json',
  ];

  static override flags = {
    ...kubeFlags,
    'all-namespaces': listFlags['all-namespaces'],
    ...textOutputFlag,
    client: Flags.boolean({ summary: "Only this kpg's version; no cluster is asked." }),
  };

  async run(): Promise<VersionReport> {
    const base: VersionReport = {
      client: { version: this.config.version, node: process.version },
      ...(this.agentHash() ? { agentBundle: this.agentHash() } : {}),
    };
    let report = base;
    if (!this.flags.client) {
      const kube = await kubeFromFlags(this.flags, this.terminal.env);
      report = await collectVersions(kube, listScope(this.flags, kube), base);
    }
    const o = this.flags.output ?? 'text';
    this.out(
      o === 'json'
        ? JSON.stringify(report, null, 2)
        : o === 'yaml'
          ? stringify(report).trimEnd()
          : formatVersion(report),
    );
    return report;
  }

  private agentHash(): string | undefined {
    try {
      return bundleHash(readFileSync(AGENT_BUNDLE_PATH, 'utf8'));
    } catch {
      return undefined;
    }
  }
}
