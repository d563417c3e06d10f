import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/config.js';
import { Daemon } from '../daemon/daemon.js';
import { Journal } from '../daemon/journal.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, type Io } from './output.js';

export async function runDaemon(opts: { config: string; logLevel?: string }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config);
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section (docs/config.md)`, config.file, 'daemon');
  const logger = cliLogger(opts.logLevel ?? 'info');
  const daemon = new Daemon(config, logger, {
    onEvent: (e) => io.out(`${new Date().toISOString()} ${e.type}${e.input !== undefined ? ` #${e.input}` : ''}${e.name ? ` ${e.name}` : ''}${e.detail ? `: ${e.detail}` : ''}`),
  });
  await daemon.start();
  io.out(`daemon watching ${config.daemon.dropFolders.map((f) => f.path).join(', ')}; journal ${config.daemon.journal}. Ctrl-C to stop.`);
  await new Promise<void>((res) => {
    const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); res(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.out('stopping: finishing the current step');
  await daemon.stop();
  return EXIT.OK;
}

export async function runStatus(opts: { config: string; json?: boolean; limit?: string }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config);
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  // Read-only, without the daemon's lock: status works while the daemon runs.
  const j = new Journal(config.daemon.journal, true);
  try {
    const summary = j.summary();
    const recent = j.recentInputs(Number(opts.limit ?? 20));
    if (opts.json) { io.out(JSON.stringify({ ...summary, recent })); return EXIT.OK; }
    const line = (k: string, m: Record<string, number>): void => io.out(`${k}: ${Object.entries(m).map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`);
    line('inputs', summary.inputs);
    line('triggers', summary.triggers);
    line('reports', summary.reports);
    for (const r of recent) io.out(`#${r.id} ${r.state.padEnd(9)} ${r.updated_at} ${r.folder}/${r.name}${r.last_error ? ` — ${r.last_error.split('\n')[0]}` : ''}`);
    return EXIT.OK;
  } finally {
    j.close();
  }
}

export function registerDaemon(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('daemon')
    .description('watch the drop folders, build and send each export exactly once, track outcomes, collect reports (until SIGTERM/Ctrl-C)')
    .requiredOption('--config <file>', 'configuration file with transport and daemon sections (docs/config.md)')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (o: { config: string; logLevel?: string }) => { setExit(await runDaemon(o, io)); });
  program
    .command('status')
    .description("what the daemon's journal holds: inputs and triggers by state, recent inputs")
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'recent inputs shown', '20')
    .action(async (o: { config: string; json?: boolean; limit?: string }) => { setExit(await runStatus(o, io)); });
}
