/** What the simulated platform itself recorded: the truth the daemon tests count against. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How many broadcasts the platform created holding the contact whose
 * external reference is `ref`: read from the account's results journal
 * (pending and reported), not from file names a later copy could overwrite.
 */
export function broadcastsWith(simRoot: string, ref: string, username = 'dmc'): number {
  const state = join(simRoot, 'accounts', username, 'state');
  const ids = new Set<number>();
  for (const f of existsSync(state) ? readdirSync(state).filter((n) => n.endsWith('.jsonl')) : []) {
    for (const line of readFileSync(join(state, f), 'utf8').split('\n')) {
      if (!line || !line.includes(ref)) continue;
      const r = JSON.parse(line) as { broadcastId: number; externalReference: string };
      if (r.externalReference === ref) ids.add(r.broadcastId);
    }
  }
  return ids.size;
}
