/** Option values shared by the commands, checked once with messages that say the fix. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputEncoding } from '../formats/model.js';
import type { TriggerFormat } from '../formats/trigger-encoder.js';
import { UsageError } from './output.js';

export function triggerFormat(v: string): TriggerFormat {
  const l = v.toLowerCase();
  if (l === 'csv' || l === 'xml') return l;
  throw new UsageError(`format '${v}' is not csv or xml`);
}

export function outputEncoding(v: string): OutputEncoding {
  const l = v.toLowerCase().replace(/[-_]/g, '');
  if (l === 'iso885915' || l === 'latin9') return 'iso-8859-15';
  if (l === 'utf8') return 'utf8';
  throw new UsageError(`encoding '${v}' is not iso-8859-15 or utf8 (the platform reads ISO-8859-15 unless the file declares UTF-8)`);
}

export async function requireFile(path: string, what: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`cannot read the ${what} '${path}': no such file`);
  if (!st.isFile()) throw new UsageError(`the ${what} '${path}' is not a file`);
}

export async function readInput(path: string, what: string): Promise<string> {
  await requireFile(path, what);
  return readFile(path, 'utf8');
}

/**
 * Where `--out` writes: the default name when it is absent, or inside it when
 * it names a folder (an existing one, or one written with a trailing slash),
 * as `cp` does.
 */
export async function outputPath(out: string | undefined, defaultName: string): Promise<string> {
  if (out === undefined) return defaultName;
  if (/[/\\]$/.test(out)) return join(out, defaultName);
  const st = await stat(out).catch(() => undefined);
  return st?.isDirectory() ? join(out, defaultName) : out;
}
