/**
 * What an operator can ask of an input, from the CLI (`retry`, `resend`)
 * or the console: put its file back into its drop folder, where the daemon
 * takes it as a new input. Written once for both.
 */
import { createWriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { NotRegularFileError, openRegular } from '../files/no-follow.js';
import type { InputRow, Journal } from '../store/journal.js';

/** A request the input's state does not allow, or a file in the way: one line saying what to do. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
}

const there = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

async function putBack(row: InputRow, from: 'sent' | 'failed'): Promise<void> {
  const src = join(row.folder, from, row.name);
  const dest = join(row.folder, row.name);
  if (await there(dest)) throw new ActionError(`${dest} already exists: move it away first`);
  if (!(await there(src))) throw new ActionError(`${src} is not there any more: drop the export again yourself`);
  // A copy under a temporary name, renamed: the watcher never sees it half written. Never through a link: sent/ and
  // failed/ are inside the drop folder, and a link put there would copy the file it points to into the folder.
  const fh = await openRegular(src, src).catch((e: unknown) => {
    if (e instanceof NotRegularFileError) throw new ActionError(`${e.message}: not copied back; put the export itself in the folder`);
    throw e;
  });
  const temp = join(row.folder, `.${row.name}.retry`);
  try {
    await pipeline(fh.createReadStream({ autoClose: false }), createWriteStream(temp));
  } finally {
    await fh.close();
  }
  await rename(temp, dest);
}

/** Why retry is not allowed for this input (undefined: it is). The console offers the action only where it is. */
export async function whyNoRetry(journal: Journal, row: InputRow): Promise<string | undefined> {
  if (row.state !== 'failed') return `input #${row.id} is ${row.state}, not failed: retry takes failed inputs (resend sends again what was sent)`;
  const sent = (await journal.triggersOf(row.id)).filter((t) => !['built', 'uploading'].includes(t.state));
  if (sent.length)
    return `input #${row.id} reached the platform (${sent.map((t) => `${t.remote_name}: ${t.state}`).join(', ')}): retry would send it again; resend it if that is what you want`;
  return undefined;
}

/** Why resend is not allowed for this input (undefined: it is). */
export function whyNoResend(row: InputRow): string | undefined {
  if (row.kind === 'command' || row.kind === 'document')
    return `input #${row.id} is a ${row.kind === 'command' ? 'command file' : 'document'}: only exports and triggers are sent again`;
  if (!['done', 'failed', 'duplicate', 'retried'].includes(row.state)) return `input #${row.id} is ${row.state}: wait until it is done or failed`;
  return undefined;
}

/** A failed input that never reached the platform goes back to its folder. */
export async function retryInput(journal: Journal, row: InputRow): Promise<string> {
  const no = await whyNoRetry(journal, row);
  if (no) throw new ActionError(no);
  await putBack(row, 'failed');
  await journal.setInput(row.id, 'retried');
  return `input #${row.id} ${row.name} put back in ${row.folder}: the daemon takes it as a new input`;
}

/** An input that was sent (or refused as a duplicate) is sent again, as a new broadcast. */
export async function resendInput(journal: Journal, row: InputRow): Promise<string> {
  const no = whyNoResend(row);
  if (no) throw new ActionError(no);
  await putBack(row, row.state === 'done' ? 'sent' : 'failed');
  await journal.askResend(row.folder, row.hash, row.id);
  return `input #${row.id} ${row.name} put back in ${row.folder} and marked to be sent again`;
}
