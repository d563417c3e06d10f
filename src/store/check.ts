/**
 * `journal check` (issue #20): the invariants the daemon relies on, checked
 * from outside on either store, read-only, while the daemon runs or not.
 *
 * - `states`: every input, trigger and hook delivery is in a state the state
 *   tables know (src/store/states.ts).
 * - `references`: every trigger, reference, rejected row, duplicate and
 *   group member points at a row that exists.
 * - `remote-names`: one live trigger per remote name (two would make the
 *   daemon follow one file's outcome for two sends).
 * - `live-inputs`: an input that is built or sent has the triggers that carry
 *   its contacts (its own, or its group leader's); without them the daemon
 *   would wait for it for ever.
 * - `files`: no input without its files: a live input (seen, working, built,
 *   sent) has its file in work/ (or, still `seen`, in its drop folder), and a
 *   trigger still to upload has its local file. Final inputs are not looked
 *   for: settling moves what is there and tolerates what is not, and sent/
 *   and failed/ belong to the team, which may clean them up.
 * - `outbox`: each hook delivery's payload is the event it names, once per
 *   hook; deliveries given up are reported (warnings).
 * - `fencing` (PostgreSQL): every transition was made by the node that held
 *   the account's lease under the epoch it records, and no epoch is newer
 *   than the lease's.
 *
 * A finding on a row the daemon changes meanwhile is read again before it is
 * reported, so a check run beside a busy daemon reports what stays wrong.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from './journal.js';
import { INPUT_STATES, TRIGGER_STATES } from './states.js';

export type CheckName = 'states' | 'references' | 'remote-names' | 'live-inputs' | 'files' | 'outbox' | 'fencing';

export interface CheckFinding {
  readonly check: CheckName;
  /** `error`: an invariant broken (exit 1); `warning`: worth a look, nothing the daemon trips on. */
  readonly severity: 'error' | 'warning';
  /** What is wrong, and what to do about it, in one line. */
  readonly message: string;
  /** How many rows are concerned. */
  readonly count: number;
  /** The first ten, as `input #12 (promo.csv)` and so on. */
  readonly items: readonly string[];
}

export interface CheckReport {
  /** Each check and how many rows it found at fault (errors and warnings). */
  readonly checks: readonly { readonly name: CheckName; readonly ran: boolean; readonly errors: number; readonly warnings: number }[];
  readonly findings: readonly CheckFinding[];
  /** No error (warnings allowed). */
  readonly ok: boolean;
}

const SHOWN = 10;
const INPUT_KINDS = ['export', 'trigger', 'document', 'command'];
const HOOK_STATES = ['pending', 'delivered', 'dead'];
const LIVE_TRIGGER = ['built', 'uploading', 'renaming', 'uploaded', 'timeout'];
const list = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

interface InputFacts {
  id: number;
  folder: string;
  name: string;
  state: string;
  work_path: string;
  settled: number;
}

/**
 * Runs every check on `journal`. `account` (the service id) names the lease
 * the fencing check reads; `fileExists` is the file system the daemon sees
 * (tests give their own).
 */
export async function checkJournal(
  journal: Journal,
  opts: { account: string; fileExists?: (path: string) => boolean } = { account: '' },
): Promise<CheckReport> {
  const sql = journal.sql;
  const fileExists = opts.fileExists ?? existsSync;
  const findings: CheckFinding[] = [];
  const checks: { name: CheckName; ran: boolean; errors: number; warnings: number }[] = [];
  const run = async (name: CheckName, body: () => Promise<boolean | void>): Promise<void> => {
    const before = findings.length;
    const ran = (await body()) !== false;
    const mine = findings.slice(before);
    checks.push({
      name,
      ran,
      errors: mine.filter((f) => f.severity === 'error').reduce((n, f) => n + f.count, 0),
      warnings: mine.filter((f) => f.severity === 'warning').reduce((n, f) => n + f.count, 0),
    });
  };
  const find = (check: CheckName, severity: CheckFinding['severity'], message: string, items: readonly string[]): void => {
    if (items.length) findings.push({ check, severity, message, count: items.length, items: items.slice(0, SHOWN) });
  };
  const input = (r: { id: number; name: string }): string => `input #${Number(r.id)} (${r.name})`;
  const trigger = (r: { id: number; remote_name: string }): string => `trigger #${Number(r.id)} (${r.remote_name})`;

  await run('states', async () => {
    const inputs = await sql.all<{ id: number; name: string; state: string; kind: string }>(
      `SELECT id, name, state, kind FROM inputs WHERE state NOT IN (${list(INPUT_STATES)}) OR kind NOT IN (${list(INPUT_KINDS)}) ORDER BY id`,
    );
    find(
      'states',
      'error',
      `inputs in a state or of a kind this version does not know (states: ${INPUT_STATES.join(', ')}): a journal written by a newer dmc-trigger? run that version, or restore the journal's backup`,
      inputs.map((r) => `${input(r)}: state ${r.state}, kind ${r.kind}`),
    );
    const triggers = await sql.all<{ id: number; remote_name: string; state: string }>(
      `SELECT id, remote_name, state FROM triggers WHERE state NOT IN (${list(TRIGGER_STATES)}) ORDER BY id`,
    );
    find(
      'states',
      'error',
      `triggers in a state this version does not know (states: ${TRIGGER_STATES.join(', ')}): run the version that wrote them, or restore the journal's backup`,
      triggers.map((r) => `${trigger(r)}: state ${r.state}`),
    );
    const hooks = await sql.all<{ id: number; state: string }>(`SELECT id, state FROM hook_outbox WHERE state NOT IN (${list(HOOK_STATES)}) ORDER BY id`);
    find(
      'states',
      'error',
      `hook deliveries in a state this version does not know (${HOOK_STATES.join(', ')}): run the version that wrote them`,
      hooks.map((r) => `hook delivery #${Number(r.id)}: state ${r.state}`),
    );
  });

  await run('references', async () => {
    const orphanTriggers = await sql.all<{ id: number; remote_name: string; input_id: number }>(
      'SELECT t.id, t.remote_name, t.input_id FROM triggers t LEFT JOIN inputs i ON i.id = t.input_id WHERE i.id IS NULL ORDER BY t.id',
    );
    find(
      'references',
      'error',
      'triggers whose input is not in the journal: the journal was edited or partly restored; restore it whole from its backup',
      orphanTriggers.map((r) => `${trigger(r)}: input #${Number(r.input_id)}`),
    );
    const refs = await sql.all<{ trigger_id: number; ref: string }>(
      'SELECT r.trigger_id, r.ref FROM trigger_refs r LEFT JOIN triggers t ON t.id = r.trigger_id WHERE t.id IS NULL ORDER BY r.trigger_id',
    );
    const rejected = await sql.all<{ input_id: number; line: number }>(
      'SELECT r.input_id, r.line FROM rejected_rows r LEFT JOIN inputs i ON i.id = r.input_id WHERE i.id IS NULL ORDER BY r.input_id, r.line',
    );
    const duplicates = await sql.all<{ id: number; name: string; other: number }>(
      'SELECT d.id, d.name, d.duplicate_of other FROM inputs d LEFT JOIN inputs o ON o.id = d.duplicate_of WHERE d.duplicate_of IS NOT NULL AND o.id IS NULL ORDER BY d.id',
    );
    const members = await sql.all<{ id: number; name: string; other: number }>(
      'SELECT m.id, m.name, m.group_leader other FROM inputs m LEFT JOIN inputs l ON l.id = m.group_leader WHERE m.group_leader > 0 AND l.id IS NULL ORDER BY m.id',
    );
    find('references', 'error', 'rows that point at a trigger or an input the journal does not hold: restore the journal whole from its backup', [
      ...refs.map((r) => `reference ${r.ref}: trigger #${Number(r.trigger_id)}`),
      ...rejected.map((r) => `rejected row line ${Number(r.line)}: input #${Number(r.input_id)}`),
      ...duplicates.map((r) => `${input(r)}: duplicate of input #${Number(r.other)}`),
      ...members.map((r) => `${input(r)}: grouped under input #${Number(r.other)}`),
    ]);
  });

  await run('remote-names', async () => {
    const twice = await sql.all<{ remote_name: string; n: number; ids: string }>(
      `SELECT remote_name, COUNT(*) n, ${sql.dialect === 'pg' ? "string_agg(id::text, ', ' ORDER BY id)" : "group_concat(id, ', ')"} ids
         FROM triggers WHERE state IN (${list(LIVE_TRIGGER)}) GROUP BY remote_name HAVING COUNT(*) > 1 ORDER BY remote_name`,
    );
    find(
      'remote-names',
      'error',
      'remote names held by more than one live trigger: the outcome of one file would be taken for several sends; fail all but one with `dmc-trigger retry` after checking the platform',
      twice.map((r) => `${r.remote_name}: triggers #${r.ids}`),
    );
  });

  await run('live-inputs', async () => {
    const rows = await sql.all<{ id: number; name: string; state: string; carrier: number }>(
      `SELECT i.id, i.name, i.state, CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END carrier
         FROM inputs i
        WHERE i.settled = 0 AND i.state IN ('built', 'sent')
          AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.input_id = CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END)
        ORDER BY i.id`,
    );
    // Read again: a trigger may have been journaled by the daemon meanwhile.
    const stays: string[] = [];
    for (const r of rows) {
      const again = await sql.get<{ state: string; settled: number }>('SELECT state, settled FROM inputs WHERE id = ?', r.id);
      const carried = await sql.get<{ n: number }>('SELECT COUNT(*) n FROM triggers WHERE input_id = ?', r.carrier);
      if (again && Number(again.settled) === 0 && again.state === r.state && Number(carried?.n ?? 0) === 0)
        stays.push(`${input(r)}: ${r.state}, no trigger${r.carrier !== r.id ? ` (group of input #${Number(r.carrier)})` : ''}`);
    }
    find(
      'live-inputs',
      'error',
      'inputs built or sent without the triggers that carry their contacts: the daemon would wait for them for ever; check the platform for their broadcast, then `dmc-trigger retry` or settle them by hand',
      stays,
    );
  });

  await run('files', async () => {
    const rows = await sql.all<InputFacts>(
      "SELECT id, folder, name, state, work_path, settled FROM inputs WHERE settled = 0 AND state IN ('seen', 'working', 'built', 'sent') ORDER BY id",
    );
    const missing: string[] = [];
    for (const r of rows) {
      if (present(r, fileExists)) continue;
      const again = await sql.get<InputFacts>('SELECT id, folder, name, state, work_path, settled FROM inputs WHERE id = ?', r.id);
      if (!again || Number(again.settled) === 1 || again.state !== r.state || present(again, fileExists)) continue;
      missing.push(`${input(r)}: ${r.state}, not at ${r.work_path}${r.state === 'seen' ? ` nor ${join(r.folder, r.name)}` : ''}`);
    }
    find(
      'files',
      'error',
      'inputs whose file is gone from work/ (and from the drop folder) before they were settled: put the file back where it is named, or drop it again (it is taken as a new input)',
      missing,
    );
    const triggers = await sql.all<{ id: number; remote_name: string; local_path: string; state: string }>(
      "SELECT t.id, t.remote_name, t.local_path, t.state FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE i.settled = 0 AND t.state IN ('built', 'uploading') ORDER BY t.id",
    );
    const gone: string[] = [];
    for (const t of triggers) {
      if (fileExists(t.local_path)) continue;
      const again = await sql.get<{ state: string }>('SELECT state FROM triggers WHERE id = ?', t.id);
      if (again?.state === t.state && !fileExists(t.local_path)) gone.push(`${trigger(t)}: ${t.state}, not at ${t.local_path}`);
    }
    find(
      'files',
      'error',
      'triggers still to upload whose local file is gone: the daemon cannot send them; `dmc-trigger retry` the input to build them again',
      gone,
    );
  });

  await run('outbox', async () => {
    const rows = await sql.all<{ id: number; event_id: string; hook: string; payload: string; state: string }>(
      'SELECT id, event_id, hook, payload, state FROM hook_outbox ORDER BY id',
    );
    const bad: string[] = [];
    const seen = new Map<string, number>();
    const twice: string[] = [];
    for (const r of rows) {
      let id: unknown;
      try {
        id = (JSON.parse(r.payload) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
      if (id !== r.event_id) bad.push(`hook delivery #${Number(r.id)}: its payload is not event ${r.event_id}`);
      const key = `${r.hook}\n${r.event_id}`;
      const first = seen.get(key);
      if (first !== undefined) twice.push(`event ${r.event_id}: deliveries #${first} and #${Number(r.id)} to the same hook`);
      else seen.set(key, Number(r.id));
    }
    find('outbox', 'error', 'hook deliveries whose payload is not the event they name: restore the journal from its backup', bad);
    find('outbox', 'error', 'events queued twice for the same hook: the receiver gets them twice (it may deduplicate on the id)', twice);
    find(
      'outbox',
      'warning',
      'hook deliveries given up after every attempt (`status` shows their last error): the receiver never got these events',
      rows.filter((r) => r.state === 'dead').map((r) => `hook delivery #${Number(r.id)}: event ${r.event_id}`),
    );
  });

  await run('fencing', async () => {
    if (sql.dialect !== 'pg') return false;
    const lease = await sql.get<{ epoch: number; holder: string }>('SELECT epoch, holder FROM dmc_leases WHERE account = ?', opts.account);
    const made = await sql.all<{ node: string; epoch: number; n: number }>(
      `SELECT node, epoch, SUM(n) n FROM (
         SELECT node, epoch, COUNT(*) n FROM inputs WHERE epoch IS NOT NULL GROUP BY node, epoch
         UNION ALL SELECT node, epoch, COUNT(*) n FROM triggers WHERE epoch IS NOT NULL GROUP BY node, epoch
       ) x GROUP BY node, epoch ORDER BY epoch`,
    );
    const history = new Map(
      (await sql.all<{ epoch: number; holder: string }>('SELECT epoch, holder FROM dmc_lease_history WHERE account = ?', opts.account)).map((h) => [
        Number(h.epoch),
        h.holder,
      ]),
    );
    const wrong: string[] = [];
    for (const m of made) {
      const epoch = Number(m.epoch);
      const holder = history.get(epoch);
      if (lease && epoch > Number(lease.epoch))
        wrong.push(`${Number(m.n)} row(s) by ${m.node} at epoch ${epoch}, newer than the lease's ${Number(lease.epoch)}`);
      else if (holder !== m.node)
        wrong.push(
          `${Number(m.n)} row(s) by ${m.node} at epoch ${epoch}, which ${holder === undefined ? 'the lease history does not hold' : `${holder} held`}`,
        );
    }
    find(
      'fencing',
      'error',
      `transitions not made by the holder of account ${opts.account}'s lease under the epoch they record: the lease rows were edited or another account's rows share this store; stop the daemons and compare with the platform`,
      wrong,
    );
  });

  return { checks, findings, ok: !findings.some((f) => f.severity === 'error') };
}

/** Where a live input's file is: in work/ once `working`; while `seen`, in work/ or still in its drop folder. */
function present(r: InputFacts, fileExists: (path: string) => boolean): boolean {
  if (r.work_path && fileExists(r.work_path)) return true;
  return r.state === 'seen' && fileExists(join(r.folder, r.name));
}
