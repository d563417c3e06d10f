import { ConfigError, loadAccounts, loadConfig, pickAccount, type AccountSet, type ResolvedConfig } from '../config/config.js';
import type { DaemonEvents } from '../daemon/context.js';
import { Daemon } from '../daemon/daemon.js';
import { Journal, journalWhere, storeOptions, type InputRow } from '../store/journal.js';
import { StatusStore } from '../store/statuses.js';
import { ActionError, resendInput, retryInput } from '../daemon/actions.js';
import { printable } from '../formats/printable.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, UsageError, type Io, untilSignal } from './output.js';

type DaemonEvent = Parameters<NonNullable<DaemonEvents['onEvent']>>[0];

/** One event line; names come from outside: escaped, so a file name holding a line break cannot forge a line. */
const eventLine = (e: DaemonEvent, account?: string): string =>
  `${new Date().toISOString()}${account !== undefined ? ` [${printable(account)}]` : ''} ${e.type}${e.input !== undefined ? ` #${e.input}` : ''}${e.name ? ` ${printable(e.name)}` : ''}${e.detail ? `: ${printable(e.detail, 500)}` : ''}`;

export async function runDaemon(opts: { config: string; account?: string[]; label?: string[]; logLevel?: string }, io: Io): Promise<number> {
  const set = await loadAccounts(opts.config);
  if (set.multi) return runAccounts(set, opts, io);
  if (opts.label?.length) throw new UsageError(`${set.file} has one account and no labels: --label is for a file with an accounts list`);
  const config = pickAccount(set, opts.account?.length === 1 ? opts.account[0] : undefined);
  if (opts.account && opts.account.length > 1)
    throw new UsageError(`${config.file} has one account (${config.service.serviceId}): give --account once, or not at all`);
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section (docs/config.md)`, config.file, 'daemon');
  const logger = cliLogger(opts.logLevel ?? 'info');
  const daemon = new Daemon(config, logger, { onEvent: (e) => io.out(eventLine(e)) });
  // Heard from before the start: a SIGTERM while the daemon starts is a stop once it has, not a kill.
  const signal = untilSignal();
  await daemon.start().catch((e: unknown) => {
    signal.dispose();
    throw e;
  });
  io.out(`daemon watching ${config.daemon.dropFolders.map((f) => f.path).join(', ')}; journal ${journalWhere(config.daemon.journal)}. Ctrl-C to stop.`);
  await signal;
  io.out('stopping: the operation in flight ends, nothing more starts (the rest resumes at the next start)');
  await daemon.stop();
  return EXIT.OK;
}

/** Several accounts (issue #21): one daemon per account in this process, one push receiver for them all. */
async function runAccounts(set: AccountSet, opts: { account?: string[]; label?: string[]; logLevel?: string }, io: Io): Promise<number> {
  const logger = cliLogger(opts.logLevel ?? 'info');
  const { AccountDaemons } = await import('../daemon/accounts.js');
  const all = new AccountDaemons(set, logger, {
    ...(opts.account ? { only: opts.account } : {}),
    ...(opts.label ? { labels: opts.label } : {}),
    onEvent: (account, e) => io.out(eventLine(e, account)),
  });
  // Heard from before the start: accounts start one after the other, the first already leading, and a SIGTERM in
  // the meantime starts no further account and stops those started (it killed the process before).
  const signal = untilSignal();
  let stopAsked = false;
  void signal.then(() => {
    stopAsked = true;
    all.halt();
  });
  await all.start().catch((e: unknown) => {
    signal.dispose();
    throw e;
  });
  for (const d of all.daemons) io.out(`account ${d.account}: watching ${d.folders.map((f) => f.path).join(', ')}; journal ${journalWhere(d.journalWhere)}`);
  for (const s of all.skipped) io.err(`account ${printable(s.account)} NOT STARTED: ${printable(s.reason, 1000)}`);
  if (all.pushOrigin) io.out(`push receiver at ${all.pushOrigin} for ${all.daemons.map((d) => d.account).join(', ')}`);
  if (all.opsOrigin) io.out(`metrics, health and console at ${all.opsOrigin} (the console: ${all.opsOrigin}/, each account at /a/<serviceId>/)`);
  if (!stopAsked) io.out(`daemon serving ${all.daemons.length} account(s). Ctrl-C to stop.`);
  await signal;
  io.out('stopping: the operation in flight ends, nothing more starts (the rest resumes at the next start)');
  await all.stop();
  return all.skipped.length ? EXIT.USAGE : EXIT.OK;
}

export async function runStatus(opts: { config: string; json?: boolean; limit?: string }, io: Io): Promise<number> {
  const set = await loadAccounts(opts.config, { secrets: false });
  const chosen = process.env['DMC_ACCOUNT'];
  if (set.multi && set.accounts.length > 1 && !chosen) return statusOfEvery(set, opts, io);
  return statusOf(pickAccount(set, chosen), opts, io);
}

/**
 * Several accounts and none named: each account's status in turn (text:
 * under an `account <id>` heading; --json: `{"accounts": [...]}`, each
 * entry the one-account shape, or `{account, error}` for a section that
 * cannot be read).
 */
async function statusOfEvery(set: AccountSet, opts: { config: string; json?: boolean; limit?: string }, io: Io): Promise<number> {
  const entries: unknown[] = [];
  for (const e of set.accounts) {
    const id = e.serviceId ?? `accounts[${e.index}]`;
    if (!opts.json) io.out(`${e.index ? '\n' : ''}== account ${printable(id)} ==`);
    if (e.error || !e.config?.daemon) {
      const error = e.error?.message ?? `${set.file}: no daemon section for this account`;
      if (opts.json) entries.push({ account: id, error });
      else io.out(`cannot show it: ${printable(error, 1000)}`);
      continue;
    }
    if (!opts.json) {
      await statusOf(e.config, opts, io);
      continue;
    }
    const lines: string[] = [];
    await statusOf(e.config, opts, { ...io, out: (l) => lines.push(l) });
    entries.push(JSON.parse(lines.join('\n')));
  }
  if (opts.json) io.out(JSON.stringify({ accounts: entries }));
  return EXIT.OK;
}

async function statusOf(config: ResolvedConfig, opts: { json?: boolean; limit?: string }, io: Io): Promise<number> {
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  if (!Journal.exists(config.daemon.journal)) {
    if (opts.json)
      io.out(
        JSON.stringify({
          account: config.service.serviceId,
          journal: journalWhere(config.daemon.journal),
          exists: false,
          inputs: {},
          triggers: {},
          reports: {},
          hooks: {},
          folders: [],
          intakeErrors: [],
          recent: [],
        }),
      );
    else io.out(`no journal yet at ${journalWhere(config.daemon.journal)}: the daemon has not run with this configuration; nothing to show`);
    return EXIT.OK;
  }
  // Read-only, without the daemon's lock: status works while the daemon runs.
  const j = await Journal.open(config.daemon.journal, 'readonly', storeOptions(config.daemon));
  try {
    const summary = await j.summary();
    // A journal written by an older version may lack the newer tables until the daemon opens it.
    const orEmpty = async <T>(read: () => Promise<T>, empty: T): Promise<T> => {
      try {
        return await read();
      } catch {
        return empty;
      }
    };
    const hooks = await orEmpty(() => j.hookSummary(), {});
    const intake = await orEmpty(() => j.intakeErrors(), []);
    const folders = (await orEmpty(() => j.folders(), [])).map((f) => ({
      path: f.path,
      healthy: f.healthy === 1,
      since: f.since,
      ...(f.error ? { error: f.error } : {}),
    }));
    const recent = await j.recentInputs(Number(opts.limit ?? 20));
    const pushStatuses = await orEmpty(() => j.pushStatusCount(), 0);
    const lease = await j.lease(config.service.serviceId);
    const statuses = new StatusStore(j);
    const resultsOf = (id: number): Promise<{ byStatus: Record<string, number>; final: boolean } | undefined> =>
      orEmpty(async () => {
        const r = await statuses.resultsFile(id);
        if (!r) return undefined;
        const s = r.summary as { byStatus: Record<string, number>; final: boolean };
        return { byStatus: s.byStatus, final: s.final };
      }, undefined);
    if (opts.json) {
      io.out(
        JSON.stringify({
          account: config.service.serviceId,
          journal: journalWhere(config.daemon.journal),
          exists: true,
          lease: lease
            ? {
                account: lease.account,
                holder: lease.holder,
                epoch: lease.epoch,
                since: lease.since.toISOString(),
                expiresAt: lease.expiresAt.toISOString(),
                live: lease.live,
              }
            : null,
          ...summary,
          hooks,
          pushStatuses,
          folders,
          intakeErrors: intake,
          recent: await Promise.all(recent.map(async (r) => ({ ...r, triggers: await j.triggersOf(r.id), results: (await resultsOf(r.id)) ?? null }))),
        }),
      );
      return EXIT.OK;
    }
    const line = (k: string, m: Record<string, number>): void =>
      io.out(
        `${k}: ${
          Object.entries(m)
            .map(([s, n]) => `${s} ${n}`)
            .join(', ') || 'none'
        }`,
      );
    if (lease)
      io.out(
        `account ${lease.account}: ${lease.live ? `led by node ${printable(lease.holder)}` : `no leader (node ${printable(lease.holder)}'s lease ran out)`} since ${lease.since.toISOString()}, epoch ${lease.epoch}, lease until ${lease.expiresAt.toISOString()}`,
      );
    line('inputs', summary.inputs);
    line('triggers', summary.triggers);
    line('reports', summary.reports);
    line('hooks', hooks);
    if (pushStatuses) io.out(`push statuses: ${pushStatuses}`);
    for (const f of folders) io.out(`folder ${printable(f.path)}: ${f.healthy ? 'healthy' : `UNHEALTHY since ${f.since} — ${printable(f.error ?? '')}`}`);
    for (const x of intake) io.out(`not taken yet: ${printable(x.path)} — ${printable(x.error)} (${x.attempts} attempt(s), last ${x.at}; retried)`);
    for (const r of recent) {
      const broadcasts = [...new Set((await j.triggersOf(r.id)).map((t) => t.broadcast_id).filter((b): b is string => !!b))];
      const res = await resultsOf(r.id);
      const results = res
        ? ` [${res.byStatus['delivered']} delivered, ${res.byStatus['failed']} failed, ${res.byStatus['pending']} pending${res.final ? ', final' : ''}]`
        : '';
      io.out(
        `#${r.id} ${r.state.padEnd(9)} ${r.updated_at} ${printable(`${r.folder}/${r.name}`)}${broadcasts.length ? ` (broadcast ${broadcasts.join(', ')})` : ''}${results}${r.rejected ? ` [${r.rejected} row(s) rejected]` : ''}${r.warnings && !r.last_error ? ` — note: ${printable(r.warnings.split('\n')[0] ?? '')}` : ''}${r.last_error ? ` — ${printable(r.last_error.split('\n')[0] ?? '')}` : ''}`,
      );
    }
    return EXIT.OK;
  } finally {
    await j.close();
  }
}

/** Puts a failed input back in its drop folder: the daemon takes it as a new input. Only for inputs never sent. */
export async function runRetry(id: string, opts: { config: string }, io: Io): Promise<number> {
  const { journal, row, account } = await openRow(id, opts.config);
  try {
    io.out(`${await retryInput(journal, row).catch(asUsage)} (account ${account})`);
    return EXIT.OK;
  } finally {
    await journal.close();
  }
}

/** Sends again an input that was sent (or refused as a duplicate): needs --force. */
export async function runResend(id: string, opts: { config: string; force?: boolean }, io: Io): Promise<number> {
  const { journal, row, account } = await openRow(id, opts.config);
  try {
    if (!opts.force) throw new UsageError(`resend sends input #${row.id} (${row.name}, ${row.state}) to the platform again, as a new broadcast: add --force`);
    io.out(`${await resendInput(journal, row).catch(asUsage)} (account ${account})`);
    return EXIT.OK;
  } finally {
    await journal.close();
  }
}

/** An action refused is a usage error (exit 64), with its message. */
const asUsage = (e: unknown): never => {
  if (e instanceof ActionError)
    throw new UsageError(
      e.message.replace('resend it if that is what you want', `use resend ${/#(\d+)/.exec(e.message)?.[1] ?? ''} --force if that is what you want`),
    );
  throw e;
};

async function openRow(id: string, configPath: string): Promise<{ journal: Journal; row: InputRow; account: string }> {
  const config = await loadConfig(configPath, { secrets: false });
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  if (!Journal.exists(config.daemon.journal))
    throw new UsageError(`no input #${id}: there is no journal yet at ${config.daemon.journal} (the daemon has not run with this configuration)`);
  const journal = await Journal.open(config.daemon.journal, 'shared', storeOptions(config.daemon));
  const row = await journal.input(Number(id));
  if (!row) {
    await journal.close();
    throw new UsageError(`no input #${id} in ${journalWhere(config.daemon.journal)} (dmc-trigger status lists them)`);
  }
  return { journal, row, account: config.service.serviceId };
}

/** `journal migrate`: a stopped daemon's SQLite journal into the PostgreSQL store of the configuration (or --to). */
export async function runJournalMigrate(opts: { config: string; from: string; to?: string }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config, { secrets: false });
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  const to = opts.to ?? config.daemon.journal;
  const { migrateJournal } = await import('../store/migrate.js');
  const r = await migrateJournal(opts.from, to, storeOptions(config.daemon), (table, rows) => {
    if (io.isTTY) io.err(`  ${table}: ${rows.toLocaleString('en')} row(s)`);
  });
  const where = journalWhere(to);
  const listed = r.tables.filter((t) => t.rows > 0).map((t) => `${t.table} ${t.rows.toLocaleString('en')}`);
  if (r.already) io.out(`already copied: ${where} holds exactly the rows of ${opts.from} (${listed.join(', ') || 'none'}); nothing written`);
  else
    io.out(
      `copied ${opts.from} into ${where}: ${listed.join(', ') || 'no rows'}. Keep ${opts.from} as it is (a copy to go back to); start the daemons with daemon.journal: ${where}`,
    );
  return EXIT.OK;
}

export async function runJournalCheck(opts: { config: string; json?: boolean }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config, { secrets: false });
  if (!config.daemon) throw new ConfigError('CONFIG_INVALID', `${config.file}: no daemon section`, config.file, 'daemon');
  const where = journalWhere(config.daemon.journal);
  if (!Journal.exists(config.daemon.journal)) throw new UsageError(`no journal at ${where}: the daemon has not run with ${config.file} yet; nothing to check`);
  const { checkJournal } = await import('../store/check.js');
  // Read-only, without the daemon's lock: the check runs beside a running daemon.
  const j = await Journal.open(config.daemon.journal, 'readonly', storeOptions(config.daemon));
  try {
    const r = await checkJournal(j, { account: config.service.serviceId });
    if (opts.json) {
      io.out(JSON.stringify({ account: config.service.serviceId, journal: where, ok: r.ok, checks: r.checks, findings: r.findings }));
      return r.ok ? EXIT.OK : EXIT.INVALID;
    }
    io.out(`journal check: ${where} (account ${config.service.serviceId})`);
    for (const c of r.checks) {
      const mark = !c.ran ? 'skipped' : c.errors ? 'ERROR' : c.warnings ? 'warning' : 'ok';
      io.out(`  ${mark.padEnd(8)}${c.name}${c.ran ? '' : ' (PostgreSQL only)'}`);
      for (const f of r.findings.filter((x) => x.check === c.name)) {
        io.out(`            ${f.severity}: ${f.count.toLocaleString('en')} ${printable(f.message, 1000)}`);
        for (const item of f.items) io.out(`              ${printable(item, 500)}`);
        if (f.count > f.items.length) io.out(`              ... and ${(f.count - f.items.length).toLocaleString('en')} more`);
      }
    }
    const errors = r.checks.reduce((n, c) => n + c.errors, 0);
    const warnings = r.checks.reduce((n, c) => n + c.warnings, 0);
    io.out(
      r.ok
        ? `journal consistent${warnings ? ` (${warnings.toLocaleString('en')} warning(s) above)` : ''}`
        : `${errors.toLocaleString('en')} row(s) break an invariant (above); the daemon may stall or misreport on them`,
    );
    return r.ok ? EXIT.OK : EXIT.INVALID;
  } finally {
    await j.close();
  }
}
