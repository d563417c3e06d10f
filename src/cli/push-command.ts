/**
 * `push-receiver`: the CRA push receiver on its own (the daemon runs it too
 * when its configuration has a push section). `results`: an input's results
 * joined back to its export, from the journal.
 */
import { ConfigError, loadAccounts, loadConfig, pickAccount, type AccountSet } from '../config/config.js';
import { Hooks } from '../daemon/hooks.js';
import { Journal, journalWhere, storeOptions, type InputRow } from '../store/journal.js';
import { StatusStore } from '../store/statuses.js';
import { resultsPaths } from '../daemon/results-step.js';
import { printable } from '../formats/printable.js';
import { startPushReceiver } from '../http/push-receiver.js';
import type { ResultsSummary } from '../results/results-file.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, UsageError, type Io, untilSignal } from './output.js';

export async function runPushReceiver(opts: { config: string; logLevel?: string }, io: Io): Promise<number> {
  const set = await loadAccounts(opts.config);
  if (set.multi && set.accounts.length > 1 && !process.env['DMC_ACCOUNT']) return receiveForEvery(set, opts, io);
  const config = pickAccount(set, process.env['DMC_ACCOUNT']);
  if (!config.push) throw new ConfigError('CONFIG_INVALID', `${config.file}: no push section (docs/config.md, "push")`, config.file, 'push');
  const logger = cliLogger(opts.logLevel ?? 'info');
  const signal = untilSignal(); // heard from before the start: a SIGTERM while it starts is a stop, not a kill
  const journal = await Journal.open(config.push.journal, 'receiver', storeOptions(config.daemon ?? {})).catch((e: unknown) => {
    signal.dispose();
    throw e;
  });
  const hooks = new Hooks(config.daemon?.hooks ?? [], journal, logger, config.service.serviceId);
  hooks.start();
  try {
    const r = await startPushReceiver({ config: config.push, journal, logger, hooks, serviceId: config.service.serviceId });
    io.out(`push receiver on ${r.origin}${config.push.path.source}; journal ${journalWhere(config.push.journal)}. Ctrl-C to stop.`);
    await signal;
    await r.close();
    io.out(`stopped: ${r.counters.statuses} status(es) recorded, ${r.counters.duplicates} already known, ${r.counters.posts} post(s)`);
  } finally {
    signal.dispose();
    await hooks.drain();
    await journal.close();
  }
  return EXIT.OK;
}

/**
 * Several accounts and none named: one receiver for every account, each
 * report recorded in the journal of the account its username names (a
 * section that cannot run: 503, posted again later).
 */
async function receiveForEvery(set: AccountSet, opts: { logLevel?: string }, io: Io): Promise<number> {
  const logger = cliLogger(opts.logLevel ?? 'info');
  const ok = set.accounts.filter((e) => e.config?.push);
  if (ok.length === 0)
    throw new ConfigError('CONFIG_INVALID', `${set.file}: no account with a push section that can run (docs/config.md, "push")`, set.file, 'push');
  const signal = untilSignal(); // heard from before the start: a SIGTERM while it starts is a stop, not a kill
  const opened: { id: string; journal: Journal; hooks: Hooks }[] = [];
  const unavailable = new Set(set.accounts.filter((e) => !e.config?.push && e.serviceId !== undefined).map((e) => e.serviceId!));
  try {
    for (const e of ok) {
      const c = e.config!;
      const journal = await Journal.open(c.push!.journal, 'receiver', storeOptions(c.daemon ?? {}));
      const hooks = new Hooks(c.daemon?.hooks ?? [], journal, logger.child({ account: c.service.serviceId }), c.service.serviceId);
      hooks.start();
      opened.push({ id: c.service.serviceId, journal, hooks });
    }
    for (const e of set.accounts.filter((x) => x.error))
      io.err(`account ${printable(e.serviceId ?? `accounts[${e.index}]`)} NOT SERVED: ${printable(e.error!.message, 1000)}`);
    const push = ok[0]!.config!.push!;
    const r = await startPushReceiver({
      config: push,
      logger,
      accounts: new Map(opened.map((o) => [o.id, { journal: o.journal, hooks: o.hooks }])),
      unavailable,
    });
    io.out(`push receiver on ${r.origin}${push.path.source} for ${opened.map((o) => o.id).join(', ')}. Ctrl-C to stop.`);
    await signal;
    await r.close();
    io.out(`stopped: ${r.counters.statuses} status(es) recorded, ${r.counters.duplicates} already known, ${r.counters.posts} post(s)`);
  } finally {
    signal.dispose();
    for (const o of opened) {
      await o.hooks.drain();
      await o.journal.close();
    }
  }
  return unavailable.size ? EXIT.USAGE : EXIT.OK;
}

/** The input named by number or by export name (the latest of that name). */
async function findInput(j: Journal, which: string): Promise<InputRow> {
  const byId = /^#?(\d+)$/.exec(which);
  const row = byId ? await j.input(Number(byId[1])) : await j.lastInputNamed(which);
  if (!row) throw new UsageError(`no input ${byId ? `#${byId[1]}` : `named '${printable(which)}'`} in the journal (dmc-trigger status lists them)`);
  return row;
}

export async function runResults(which: string, opts: { config: string; json?: boolean }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config, { secrets: false });
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  if (!Journal.exists(config.daemon.journal))
    throw new UsageError(`no journal yet at ${journalWhere(config.daemon.journal)}: the daemon has not run with this configuration`);
  const j = await Journal.open(config.daemon.journal, 'readonly', storeOptions(config.daemon));
  try {
    const row = await findInput(j, which);
    let stored: { summary: unknown } | undefined;
    try {
      stored = await new StatusStore(j).resultsFile(row.id);
    } catch {
      // A journal from before results existed.
    }
    if (!stored) {
      const folder = config.daemon.dropFolders.find((f) => f.path === row.folder);
      const expected = folder ? resultsPaths(folder.path, row.name, config.daemon.results.name).file : undefined;
      const why =
        row.state !== 'done' ? `it is ${row.state}` : 'no status has come for its broadcasts yet (push statuses, or the daily report linking its broadcast)';
      if (opts.json)
        io.out(
          JSON.stringify({
            account: config.service.serviceId,
            input: { id: row.id, name: row.name, folder: row.folder },
            state: row.state,
            results: null,
            reason: why,
          }),
        );
      else io.out(`#${row.id} ${printable(row.name)}: no results yet: ${why}${expected ? ` (they will be in ${printable(expected)})` : ''}`);
      return EXIT.OK;
    }
    const s = stored.summary as ResultsSummary;
    if (opts.json) {
      io.out(JSON.stringify({ account: config.service.serviceId, ...s, state: row.state }));
      return EXIT.OK;
    }
    io.out(
      `#${row.id} ${printable(row.name)}: ${s.rows} row(s) — ${s.byStatus.delivered} delivered, ${s.byStatus.failed} failed, ${s.byStatus.pending} pending${s.final ? ' (final)' : ''}`,
    );
    io.out(
      `media: ${Object.entries(s.byMedium)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ')}; matched by ${s.matchedBy}; ${s.unmatched} row(s) without any status`,
    );
    io.out(`broadcast(s): ${s.broadcasts.join(', ') || 'none'}; updated ${s.updatedAt}`);
    io.out(`results file: ${printable(s.resultsFile)}`);
    return EXIT.OK;
  } finally {
    await j.close();
  }
}
