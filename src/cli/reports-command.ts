import { loadConfig } from '../config/config.js';
import { summarizeCra } from '../formats/cra.js';
import { FindingList } from '../formats/findings.js';
import { openAccount } from '../transport/connect.js';
import { cliLogger } from '../transport/logger.js';
import { fetchReports } from '../transport/reports.js';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, formatFinding, humanBytes, UsageError, type Io } from './output.js';
import { requireFile } from './options.js';
import { readCraFile } from '../files/reports.js';

export async function runFetch(opts: { config: string; to?: string; ack?: boolean; logLevel?: string }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config);
  const logger = cliLogger(opts.logLevel ?? 'warn');
  const { session, remoteRoot } = await openAccount(config, logger);
  try {
    const dir = opts.to ?? config.reports.dir;
    const got = await fetchReports(session, {
      remoteRoot,
      serviceId: config.service.serviceId,
      dir,
      ackNaming: config.reports.ackNaming,
      ack: opts.ack !== false,
      logger,
      onReport: (r) =>
        io.out(
          `${r.name}: ${r.fetched === 'downloaded' ? `downloaded (${humanBytes(r.size)})` : 'already collected'} to ${r.localPath}; ${r.ack === 'acked' ? 'acked' : r.ack === 'ack-pending' ? 'ack already waiting' : 'not acked (--no-ack)'}`,
        ),
    });
    if (got.length === 0) io.out(`no report in out/ for service ${config.service.serviceId}`);
    return EXIT.OK;
  } finally {
    await session.close();
  }
}

/** A folder stands for its newest CRA file (by modification time). */
async function newestReport(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => /^CRA_.*\.csv$/i.test(n));
  const dated = await Promise.all(names.map(async (n) => ({ path: join(dir, n), at: (await stat(join(dir, n))).mtimeMs })));
  const newest = dated.sort((a, b) => b.at - a.at || b.path.localeCompare(a.path))[0];
  if (!newest)
    throw new UsageError(
      `no CRA_*.csv report in ${dir}: run reports fetch once the platform has written one (daily at 02:00 Paris time; the simulator: --report-every)`,
    );
  return newest.path;
}

export async function runShow(file: string, opts: { json?: boolean }, io: Io): Promise<number> {
  if ((await stat(file).catch(() => undefined))?.isDirectory()) file = await newestReport(file);
  await requireFile(file, 'report file');
  const findings = new FindingList();
  const summary = await summarizeCra(readCraFile(file, findings));
  for (const f of findings.list()) io.err(formatFinding(file, f));
  if (opts.json) {
    io.out(JSON.stringify({ file, ...summary, errors: findings.list().filter((f) => f.severity === 'error') }));
  } else {
    io.out(`${file}: ${summary.records} result(s), ${summary.broadcasts.length} broadcast(s)`);
    for (const b of summary.broadcasts) {
      io.out(
        `broadcast ${b.broadcastId}: ${b.contacts} contact(s), success ${(b.successRate * 100).toFixed(1)} %${b.firstCall ? `, calls ${b.firstCall} to ${b.lastCall}` : ''}`,
      );
      for (const r of b.results) {
        const code = r.codes.length === 1 ? r.codes[0] : r.codes.length > 1 ? `one of ${r.codes.join(', ')}` : 'label not in annex 5.4';
        io.out(`  ${String(r.count).padStart(6)}  ${r.label}  (${code})`);
      }
    }
    if (summary.unknownLabels.length) io.out(`labels not in annex 5.4 (not counted as success): ${summary.unknownLabels.join(', ')}`);
  }
  return findings.hasErrors ? EXIT.INVALID : EXIT.OK;
}
