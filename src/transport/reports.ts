/**
 * Collecting the daily reports (guide §3.2.6, lines 9878-9905): list `out/`
 * for `CRA_<serviceId>_<date>.csv`; download each to a local temporary name,
 * check its size against the server's, fsync, rename into the reports
 * folder; only then drop an empty ack in `out/ack/` (with the `.uploading`
 * handshake), which tells the platform to delete the report.
 *
 * The reports folder is the state: a report already there with the server's
 * size is not downloaded again, only acked again (its ack failed or was not
 * taken yet). A crash between download and ack loses nothing and downloads
 * nothing twice.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { ackName, CRA_NAME } from '../formats/cra.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import { uploadWithHandshake, type UploadSource } from './handshake.js';
import { plainName, remoteJoin, TransportError } from './transport.js';

export interface FetchReportsOptions {
  readonly remoteRoot: string;
  readonly serviceId: string;
  /** Local reports folder. */
  readonly dir: string;
  readonly ackNaming: 'replace' | 'append';
  /** Drop the acks (default true); false leaves the reports on the server. */
  readonly ack?: boolean;
  readonly logger: Logger;
  readonly onReport?: (r: ReportOutcome) => void;
}

export interface ReportOutcome {
  readonly name: string;
  readonly size: number;
  readonly localPath: string;
  /** `downloaded` now, or `present` (collected by an earlier run). */
  readonly fetched: 'downloaded' | 'present';
  /** `acked` now, `ack-pending` (an ack already waits in out/ack/), or `not-acked` (--no-ack). */
  readonly ack: 'acked' | 'ack-pending' | 'not-acked';
}

const EMPTY: UploadSource = { size: 0, open: () => Readable.from([]) };

export async function fetchReports(session: Session, opts: FetchReportsOptions): Promise<ReportOutcome[]> {
  const log = opts.logger;
  const outDir = remoteJoin(opts.remoteRoot, 'out');
  const ackDir = remoteJoin(outDir, 'ack');
  await mkdir(opts.dir, { recursive: true });
  const listing = await session.run('list out/', (t) => t.list(outDir));
  const reports = listing.filter((e) => e.type === 'file' && CRA_NAME.exec(e.name)?.[1] === opts.serviceId).sort((a, b) => a.name.localeCompare(b.name));
  const results: ReportOutcome[] = [];
  for (const entry of reports) {
    const name = plainName(entry.name);
    const localPath = join(opts.dir, name);
    const local = await stat(localPath).catch(() => undefined);
    let fetched: ReportOutcome['fetched'] = 'present';
    if (local?.size !== entry.size) {
      if (local) {
        // Same name, other size: the platform wrote it again. Keep the earlier copy, never lose it.
        const kept = `${localPath}.${Date.now()}.previous`;
        await rename(localPath, kept);
        // The platform rewrites a day's report as results come in (the simulator's --report-every too): normal, said at info level.
        log.info(
          { report: name, kept },
          `${name} was rewritten on the server since it was collected: the new version is downloaded, the earlier copy kept as ${kept}`,
        );
      }
      await downloadReport(session, remoteJoin(outDir, name), localPath, entry.size);
      fetched = 'downloaded';
      log.info({ report: name, bytes: entry.size, localPath }, 'report downloaded');
    }
    let ack: ReportOutcome['ack'] = 'not-acked';
    if (opts.ack !== false) {
      try {
        // An empty file under the plain temporary name: an ack cut short is written again, not left beside the next.
        await uploadWithHandshake(session, EMPTY, ackDir, ackName(name, opts.ackNaming), log, { attempt: null });
        ack = 'acked';
      } catch (e) {
        if (!(e instanceof TransportError && e.code === 'TARGET_EXISTS')) throw e;
        ack = 'ack-pending';
      }
    }
    const r = { name, size: entry.size, localPath, fetched, ack };
    opts.onReport?.(r);
    results.push(r);
  }
  return results;
}

/** Downloads to a temporary name, checks the size, fsyncs, renames into place. */
async function downloadReport(session: Session, remotePath: string, localPath: string, expected: number): Promise<void> {
  const temp = `${localPath}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  try {
    await session.run(`get ${remotePath}`, async (t) => {
      const bytes = await t.download(remotePath, createWriteStream(temp));
      if (bytes !== expected)
        throw new TransportError('SIZE_MISMATCH', `${remotePath}: ${bytes} bytes received where the server listed ${expected}; downloading again`, {
          remotePath,
        });
    });
    const fh = await open(temp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, localPath);
  } finally {
    await rm(temp, { force: true });
  }
}
