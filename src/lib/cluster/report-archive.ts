/** Writes a report's entries as one .tar.gz (the `tar` package: npm's own, streams and gzip). */
import { chmod, mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import type { ReportEntry } from './report.js';

/** The archive at `file`, its entries under the directory `top`; returns its size in bytes. */
export async function writeReportArchive(
  file: string,
  top: string,
  entries: ReportEntry[],
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'kpg-report-'));
  try {
    for (const e of entries) {
      const path = join(dir, top, e.path);
      await mkdir(dirname(path), { recursive: true });
      // The report may hold what the cluster logged: readable by its owner only.
      await writeFile(path, e.content, { mode: 0o600 });
    }
    await create({ gzip: true, file, cwd: dir, portable: true }, [top]);
    await chmod(file, 0o600);
    return (await stat(file)).size;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
