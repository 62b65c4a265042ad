// Issue 16, item 11: shell completion (@oclif/plugin-autocomplete). In a real
// terminal (a tmux pane running bash), completion is set up the way
// `kpg autocomplete bash` says, then Tab completes command names,
// subcommands and flags, as a person would see it.
//
// Runs the built CLI (bin/run.js and dist/, as installed): `npm test` builds
// before the tests; alone, run `npm run build` first. tmux is one of the
// packages `npm run setup` installs. The shell gets a temporary HOME and an
// empty environment, and tmux a server of its own (-L), so neither the
// user's ~/.bashrc and caches nor other tmux sessions are touched.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const PROMPT = 'kpg-ac$';

/** A bash in a pane of a private tmux server; the screen as text. */
class Pane {
  private readonly socket = `kpg-ac-${process.pid}`;
  private readonly target = 'ac';

  private tmux(...args: string[]): string {
    const env = { ...process.env };
    delete env.TMUX;
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', env });
  }

  start(command: string, cwd: string): void {
    this.tmux('new-session', '-d', '-s', this.target, '-x', '200', '-y', '50', '-c', cwd, command);
  }

  /** The screen's lines, trailing blanks cut. */
  lines(): string[] {
    const text = this.tmux('capture-pane', '-p', '-J', '-t', this.target);
    const lines = text.split('\n').map((l) => l.trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** Types text as it is (no key names). */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.target, '-l', text);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.target, ...keys);
  }

  /** Waits until `ok` holds for the screen's lines; returns them. */
  async until(
    what: string,
    ok: (lines: string[]) => boolean,
    timeoutMs = 15_000,
  ): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.lines();
      if (ok(lines)) return lines;
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; the screen:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An empty screen with a fresh prompt. */
  async clear(): Promise<void> {
    this.keys('C-u');
    this.type('clear');
    this.keys('Enter');
    await this.until('a cleared screen', (l) => l.length === 1 && l[0] === PROMPT);
  }

  stop(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // Already gone.
    }
  }
}

const home = mkdtempSync(join(tmpdir(), 'kpg-ac-'));
const pane = new Pane();
const lastLine = (l: string[]) => l.at(-1) ?? '';

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'commands', 'get.js')))
    throw new Error(`${repo}/dist is missing: run npm run build first (npm test does)`);
  try {
    execFileSync('tmux', ['-V']);
  } catch {
    throw new Error('tmux is not installed: npm run setup installs it');
  }
  // `kpg` on the PATH as npm install -g puts it: a link to bin/run.js.
  mkdirSync(join(home, 'bin'));
  symlinkSync(join(repo, 'bin', 'run.js'), join(home, 'bin', 'kpg'));
  // No history file: bash would write it when tmux hangs up, into a HOME being removed.
  writeFileSync(join(home, '.bashrc'), `PS1='${PROMPT} '\nunset HISTFILE\n`);
  const path = [join(home, 'bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'];
  writeFileSync(
    join(home, 'shell.sh'),
    `exec env -i HOME='${home}' PATH='${path.join(':')}' TERM=screen LANG=C.UTF-8 NO_COLOR=1 ` +
      `bash --noprofile --rcfile '${home}/.bashrc' -i\n`,
  );
  // In HOME, where no file's name would complete like a command does.
  pane.start(`bash '${home}/shell.sh'`, home);
  await pane.until('the prompt', (l) => lastLine(l) === PROMPT);

  // 1. What the user reads: `kpg autocomplete bash` (which also writes the cache).
  pane.type('kpg autocomplete bash');
  pane.keys('Enter');
  const shown = await pane.until(
    'the setup instructions',
    (l) => l.some((x) => x.includes('Enjoy!')) && lastLine(l) === PROMPT,
    30_000,
  );
  const setup = shown
    .map((l) => l.trim())
    .find((l) => /^printf .* >> ~\/\.bashrc; source ~\/\.bashrc$/.test(l));
  if (!setup) throw new Error(`no ~/.bashrc line in the instructions:\n${shown.join('\n')}`);
  expect(setup).toBe('printf "$(kpg autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc');

  // 2. What they type: that line, then bash completes kpg.
  await pane.clear();
  pane.type(setup);
  pane.keys('Enter');
  await pane.until(
    'the prompt after the setup',
    (l) => l.length >= 2 && lastLine(l) === PROMPT,
    30_000,
  );
  await pane.clear();
  pane.type('complete -p kpg');
  pane.keys('Enter');
  await pane.until('the completion function', (l) =>
    l.includes('complete -F _kpg_autocomplete kpg'),
  );
}, 90_000);

afterAll(() => {
  pane.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('kpg autocomplete bash, in a terminal', () => {
  it('keeps its files in the CLI cache directory, away from the test cluster binaries in ~/.cache/kpg', () => {
    const dir = join(home, '.cache', 'kpg-cli', 'autocomplete');
    expect(existsSync(join(dir, 'bash_setup'))).toBe(true);
    expect(existsSync(join(dir, 'functions', 'bash', 'kpg.bash'))).toBe(true);
    expect(existsSync(join(home, '.cache', 'kpg'))).toBe(false);
  });

  it('kpg ba<TAB> completes the command: backup', async () => {
    await pane.clear();
    pane.type('kpg ba');
    pane.keys('Tab');
    await pane.until('kpg backup', (l) => lastLine(l) === `${PROMPT} kpg backup`);
  });

  it('kpg backup <TAB><TAB> offers its subcommands: list and prune', async () => {
    await pane.clear();
    pane.type('kpg backup ');
    pane.keys('Tab', 'Tab');
    const l = await pane.until(
      'list and prune',
      (l) => l.some((x) => /^list\s+prune$/.test(x)) && lastLine(l) === `${PROMPT} kpg backup`,
    );
    expect(l.filter((x) => !x.startsWith(PROMPT))).toEqual([
      expect.stringMatching(/^list\s+prune$/),
    ]);
  });

  it('kpg get --na<TAB> completes the flag: --namespace', async () => {
    await pane.clear();
    pane.type('kpg get --na');
    pane.keys('Tab');
    await pane.until('--namespace', (l) => lastLine(l) === `${PROMPT} kpg get --namespace`);
  });

  it("a subcommand's own flags: kpg backup prune --ke<TAB> completes --keep", async () => {
    await pane.clear();
    pane.type('kpg backup prune --ke');
    pane.keys('Tab');
    await pane.until('--keep', (l) => lastLine(l) === `${PROMPT} kpg backup prune --keep`);
  });
});

describe('kpg autocomplete --help', () => {
  it('has examples', () => {
    const help = execFileSync(
      process.execPath,
      [join(repo, 'bin', 'run.js'), 'autocomplete', '--help'],
      {
        encoding: 'utf8',
        env: { ...process.env, HOME: home, NO_COLOR: '1' },
      },
    );
    expect(help).toContain('EXAMPLES');
    expect(help).toContain('$ kpg autocomplete bash');
    expect(help).toContain('$ kpg autocomplete zsh');
  });
});
