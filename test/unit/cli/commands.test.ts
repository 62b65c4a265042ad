/** Every command has a summary, a description and examples: what --help shows. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', '..', 'src', 'commands');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

describe.each(names)('kpg %s --help', (name) => {
  it('has a summary, a description and at least one example', async () => {
    const mod = (await import(join(dir, `${name}.ts`))) as {
      default: { summary?: string; description?: string; examples?: unknown[] };
    };
    expect(mod.default.summary?.length).toBeGreaterThan(10);
    expect(mod.default.description?.length).toBeGreaterThan(40);
    expect(mod.default.examples?.length).toBeGreaterThan(0);
  });
});
