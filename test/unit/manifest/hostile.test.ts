/** Hostile input is refused fast and clearly; nothing hangs or exhausts memory. */
import { mkdtempSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifests, validateText } from '../../../src/lib/manifest/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kpg-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEAD =
  'apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n  name: pg\nspec:\n  version: "15"\n';

async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t };
}

describe('hostile input', () => {
  it('billion laughs: alias expansion is capped', async () => {
    const lol = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...'bcdefghi'
        .split('')
        .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
    ].join('\n');
    const { value: r, ms } = await timed(() =>
      validateText(`${HEAD}  podTemplate:\n    labels:\n      x: y\n${lol}\n`, 'lol.yaml'),
    );
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({ code: 'alias-limit', severity: 'error', line: 1, column: 1 }),
    ]);
    expect(r.problems[0]!.message).toContain('billion laughs');
    expect(ms).toBeLessThan(2000);
  });

  it('a 10 MB file is refused without reading it', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, HEAD);
    truncateSync(big, 10 * 1024 * 1024);
    const { value: r, ms } = await timed(() => loadManifests([big]));
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({ source: big, code: 'too-large', path: '' }),
    ]);
    expect(r.problems[0]!.message).toBe(
      'is larger than 1 MiB; refusing to read it (a manifest is a few KiB)',
    );
    expect(ms).toBeLessThan(1000);
  });

  it.skipIf(!existsSync('/dev/zero'))(
    'an endless special file is cut at the size limit',
    async () => {
      const r = await loadManifests(['/dev/zero'], { maxBytes: 64 * 1024 });
      expect(r.problems).toEqual([expect.objectContaining({ code: 'too-large' })]);
    },
  );

  it('the size limit is configurable', async () => {
    const f = join(dir, 'small.yaml');
    writeFileSync(f, HEAD);
    expect((await loadManifests([f], { maxBytes: 20 })).problems[0]!.message).toContain(
      'larger than 20 bytes',
    );
    expect((await loadManifests([f], { maxBytes: 1000 })).ok).toBe(true);
  });

  it('duplicate keys are errors, at any depth', () => {
    const r = validateText(
      `${HEAD}  podTemplate:\n    spec:\n      nodeSelector:\n        disk: ssd\n        disk: hdd\n`,
      'dup.yaml',
    );
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({ code: 'duplicate-key', line: 11, column: 9 }),
    ]);
  });

  it.each([
    ['!!binary', '  replicas: !!binary aGVsbG8=\n'],
    ['!!set', '  replicas: !!set {a}\n'],
    ['!!timestamp', '  replicas: !!timestamp 2001-12-14\n'],
    ['!custom', '  replicas: !custom 3\n'],
    ['!<tag:example.com,2000:x>', '  replicas: !<tag:example.com,2000:x> 3\n'],
  ])('the tag %s is refused', (_tag, line) => {
    const r = validateText(HEAD + line, 'tag.yaml');
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'custom-tag', line: 7, column: 13 }),
    ]);
  });

  it('core tags are fine', () => {
    expect(validateText(`${HEAD}  replicas: !!int "3"\n`, 't.yaml').clusters[0]!.replicas).toBe(3);
  });

  it('NUL bytes are refused as binary', async () => {
    const f = join(dir, 'nul.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from(HEAD), Buffer.from([0, 1, 2, 3])]));
    const r = await loadManifests([f]);
    expect(r.problems).toEqual([expect.objectContaining({ code: 'binary', line: 7, column: 1 })]);
    expect(r.problems[0]!.message).toContain('U+0000');
  });

  it('invalid UTF-8 is refused as binary', async () => {
    const f = join(dir, 'latin1.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from(HEAD), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]));
    const r = await loadManifests([f]);
    expect(r.problems).toEqual([
      expect.objectContaining({ code: 'binary', message: expect.stringContaining('not UTF-8') }),
    ]);
  });

  it('a PNG is refused as binary', async () => {
    const f = join(dir, 'image.yaml');
    writeFileSync(f, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    expect((await loadManifests([f])).problems[0]!.code).toBe('binary');
  });

  it('a UTF-8 byte order mark is accepted', async () => {
    const f = join(dir, 'bom.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEAD)]));
    expect((await loadManifests([f])).ok).toBe(true);
  });

  it('deep flow nesting is refused without crashing', async () => {
    const n = 100_000;
    const { value: r, ms } = await timed(() =>
      validateText(`${HEAD}  x: ${'['.repeat(n)}${']'.repeat(n)}\n`, 'deep.yaml'),
    );
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({
        line: 7,
        column: 70,
        message: 'nesting is too deep (more than 64 levels)',
      }),
    ]);
    expect(ms).toBeLessThan(1000);
  });

  it('deep block nesting beyond 64 levels is refused', () => {
    let text = HEAD;
    for (let i = 0; i < 80; i++) text += `${' '.repeat(2 + i * 2)}k${i}:\n`;
    const r = validateText(text, 'deep.yaml');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({
      code: 'yaml-syntax',
      message: 'nesting is too deep (more than 64 levels)',
    });
  });

  it('more than 5000 documents in one source are refused before parsing', async () => {
    const { value: r, ms } = await timed(() => validateText('---\n'.repeat(200_000), 'many.yaml'));
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: 'yaml-syntax',
        line: 5001,
        message: 'has more than 5000 documents; split it',
      }),
    ]);
    expect(ms).toBeLessThan(1000);
  });

  it('5000 empty documents are fine', () => {
    expect(validateText('---\n'.repeat(5000) + HEAD, 'ok.yaml').ok).toBe(true);
  });

  it('a long scalar is just a long scalar', () => {
    const r = validateText(`${HEAD}  replicas: "${'x'.repeat(500_000)}"\n`, 'long.yaml');
    expect(r.problems.find((p) => p.severity === 'error')!.message).toMatch(
      /^must be a whole number, not "x{37}\.\.\."$/,
    );
  });

  it('complex keys are refused', () => {
    const r = validateText(`${HEAD}  ? [a, b]\n  : c\n`, 'key.yaml');
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toBe('mapping keys must be plain strings');
  });
});
