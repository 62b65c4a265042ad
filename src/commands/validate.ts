import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { ExitCode } from '../lib/errors.js';
import {
  countProblems,
  type LoadResult,
  loadManifests,
  type Problem,
} from '../lib/manifest/index.js';

/** The `-o json` shape; keys and order are stable. */
export interface ValidateJson {
  valid: boolean;
  documents: {
    source: string;
    index: number;
    name: string | null;
    namespace: string | null;
    valid: boolean;
  }[];
  problems: {
    source: string;
    line: number | null;
    column: number | null;
    path: string;
    severity: Problem['severity'];
    code: string;
    message: string;
  }[];
}

export function toValidateJson(result: LoadResult): ValidateJson {
  return {
    valid: result.ok,
    documents: result.documents.map((d) => ({
      source: d.source,
      index: d.index,
      name: d.name ?? null,
      namespace: d.namespace ?? null,
      valid: d.valid,
    })),
    problems: result.problems.map((p) => ({
      source: p.source,
      line: p.line ?? null,
      column: p.column ?? null,
      path: p.path,
      severity: p.severity,
      code: p.code,
      message: p.message,
    })),
  };
}

export default class Validate extends BaseCommand<typeof Validate> {
  static override summary = 'Check Postgres manifests without contacting any cluster.';

  static override description = `Reads kubedb.com/v1alpha1 Postgres manifests and reports every problem in every document at once, with file, line and column. Nothing is sent anywhere.

Inputs (-f, repeatable): a file, a directory (its *.yaml, *.yml and *.json files, sorted), - for standard input, or an http(s) URL. Each source may hold several YAML documents separated by ---.

Exit codes: 0 all documents are valid (warnings and notes allowed), 1 at least one problem is an error, 2 usage error.`;

  static override examples = [
    {
      description: 'Check one manifest.',
      command: '<%= config.bin %> <%= command.id %> -f examples/ha-postgres.yaml',
    },
    {
      description: 'Check every manifest in a directory.',
      command: '<%= config.bin %> <%= command.id %> -f examples/',
    },
    {
      description: 'Check standard input.',
      command: 'cat pg.yaml | <%= config.bin %> <%= command.id %> -f -',
    },
    {
      description: 'Machine-readable result.',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml -o json',
    },
  ];

  static override flags = {
    filename: Flags.string({
      char: 'f',
      summary: 'Manifest file, directory, URL, or - for standard input. Repeatable.',
      multiple: true,
      required: true,
    }),
  };

  async run(): Promise<ValidateJson> {
    const result = await loadManifests(this.flags.filename, { stdin: this.terminal.stdin });
    if (this.output === 'json') {
      this.out(JSON.stringify(toValidateJson(result), null, 2));
    } else {
      this.printProblems(result.problems);
      for (const d of result.documents) {
        if (d.valid && d.name !== undefined) this.out(`postgres "${d.name}" is valid`);
      }
      if (!result.ok) {
        const docs = result.documents.length;
        this.err(`${countProblems(result.problems)} in ${docs} document${docs === 1 ? '' : 's'}`);
      }
    }
    if (!result.ok) this.fail(ExitCode.InvalidInput);
    return toValidateJson(result);
  }
}
