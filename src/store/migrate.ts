/**
 * `journal migrate` (issue #20): a stopped daemon's SQLite journal copied
 * into the PostgreSQL store, so that a pair starts from what the single
 * host sent (its inputs' hashes refuse the same export twice, its triggers'
 * outcomes are still followed, its statuses still join). One transaction:
 * all of it or nothing. Idempotent: a target that already holds exactly
 * these rows is left as it is; a target holding other rows is refused.
 */
import { Journal, JournalError, isPgUrl, journalWhere, type OpenJournalOptions } from './journal.js';

/** The journal's tables, parents before children; the lease tables and the schema version are the store's own. */
const TABLES = [
  'inputs',
  'triggers',
  'trigger_refs',
  'reports',
  'resends',
  'folders',
  'hook_outbox',
  'rejected_rows',
  'report_summaries',
  'intake_errors',
  'push_statuses',
  'contact_results',
  'results_due',
  'results_files',
] as const;

/** Tables whose `id` the target numbers itself afterwards (identity columns). */
const NUMBERED = new Set(['inputs', 'triggers', 'hook_outbox', 'push_statuses']);

const BATCH = 500;

export interface MigrateResult {
  /** Rows per table, as copied (or as found, when the target already held them). */
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  /** The target already held exactly these rows: nothing was written. */
  readonly already: boolean;
}

/**
 * Copies the SQLite journal at `from` into the PostgreSQL store at `to`.
 * The source is opened as a daemon would (its lock: a running daemon makes
 * this refuse); the target must have no live lease (no daemon leads it).
 */
export async function migrateJournal(
  from: string,
  to: string,
  opts: OpenJournalOptions,
  progress: (table: string, rows: number) => void = () => undefined,
): Promise<MigrateResult> {
  if (isPgUrl(from)) throw new JournalError(`--from ${journalWhere(from)} is a PostgreSQL URL: name the SQLite journal file (daemon.journal before the move)`);
  if (!isPgUrl(to)) throw new JournalError(`the target ${to} is not a postgres:// URL: set daemon.journal to the store's URL, or give --to`);
  if (!Journal.exists(from)) throw new JournalError(`no journal at ${from}: name the SQLite file the daemon used (daemon.journal)`);
  const source = await Journal.open(from, 'daemon');
  try {
    const target = await Journal.open(to, 'receiver', opts);
    try {
      const leases = await target.sql.all<{ account: string; holder: string }>('SELECT account, holder FROM dmc_leases WHERE expires_at > now()');
      if (leases.length)
        throw new JournalError(
          `node ${leases[0]!.holder} leads account ${leases[0]!.account} on ${target.path}: stop every daemon on the store before migrating into it`,
        );
      const counts: { table: string; rows: number; same: boolean; targetRows: number }[] = [];
      for (const table of TABLES) {
        const rows = Number((await source.sql.get<{ n: number }>(`SELECT COUNT(*) n FROM ${table}`))?.n ?? 0);
        const targetRows = Number((await target.sql.get<{ n: number }>(`SELECT COUNT(*) n FROM ${table}`))?.n ?? 0);
        let same = rows === targetRows;
        if (same && NUMBERED.has(table)) {
          const a = (await source.sql.get<{ m: number | null }>(`SELECT MAX(id) m FROM ${table}`))?.m ?? null;
          const b = (await target.sql.get<{ m: number | null }>(`SELECT MAX(id) m FROM ${table}`))?.m ?? null;
          same = (a === null ? null : Number(a)) === (b === null ? null : Number(b));
        }
        counts.push({ table, rows, same, targetRows });
      }
      if (counts.some((c) => c.targetRows > 0)) {
        if (counts.every((c) => c.same)) return { tables: counts.map(({ table, rows }) => ({ table, rows })), already: true };
        const held = counts.filter((c) => c.targetRows > 0).map((c) => `${c.table} ${c.targetRows}`);
        throw new JournalError(
          `${target.path} already holds other rows (${held.join(', ')}): migrate into an empty store (another daemon.store.schema), never over one in use`,
        );
      }
      await target.sql.tx(async () => {
        for (const { table } of counts) {
          const targetColumns = new Set(
            (
              await target.sql.all<{ c: string }>(
                'SELECT column_name c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?',
                table,
              )
            ).map((r) => r.c),
          );
          const columns = (await source.sql.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`))
            .map((r) => r.name)
            .filter((c) => targetColumns.has(c));
          let copied = 0;
          for (let offset = 0; ; offset += BATCH) {
            const rows = await source.sql.all<Record<string, unknown>>(
              `SELECT ${columns.join(', ')} FROM ${table} ORDER BY rowid LIMIT ? OFFSET ?`,
              BATCH,
              offset,
            );
            if (rows.length === 0) break;
            const one = `(${columns.map(() => '?').join(', ')})`;
            await target.sql.run(
              `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${rows.map(() => one).join(', ')}`,
              ...rows.flatMap((r) => columns.map((c) => r[c] ?? null)),
            );
            copied += rows.length;
            progress(table, copied);
          }
          // New rows on the target are numbered after the copied ones.
          if (NUMBERED.has(table))
            await target.sql.get(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM ${table}`);
        }
      });
      return { tables: counts.map(({ table, rows }) => ({ table, rows })), already: false };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
