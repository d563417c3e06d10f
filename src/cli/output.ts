/**
 * How the CLI speaks: findings as `file:line: severity code: message`,
 * progress on stderr when it is a terminal and the work is long, and the
 * exit codes (0 success, 1 invalid input, 2 usage or I/O error).
 */
import type { Finding } from '../formats/findings.js';
import { printable } from '../formats/printable.js';

export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, TRANSPORT: 3 } as const;

export function formatFinding(file: string, f: Finding): string {
  const where = f.line !== undefined ? `${file}:${f.line}` : file;
  const field = f.field ? ` [${f.field}]` : '';
  // A message may quote the input: never a raw control character (a terminal escape, a forged line).
  return printable(`${where}: ${f.severity} ${f.code}${field}: ${f.message}`, 2000);
}

/** Findings sorted by line (those without a line first), errors before warnings on a line. */
export function sortFindings(fs: readonly Finding[]): Finding[] {
  return [...fs].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  readonly isTTY: boolean;
}

export const processIo: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  get isTTY() {
    return Boolean(process.stderr.isTTY);
  },
};

/** A progress line on stderr, shown only on a terminal and only after a second of work. */
export function progress(io: Io, label: string): { tick(n: number): void; done(): void } {
  const start = Date.now();
  let shown = false;
  return {
    tick(n) {
      if (!io.isTTY || Date.now() - start < 1000) return;
      shown = true;
      process.stderr.write(`\r${label}: ${n.toLocaleString('en')} contacts…`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** An error the user caused (bad path, bad option): printed without a stack, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A duration option in seconds: a positive number within Node's timer range, or a usage error naming the option. */
export function parseSeconds(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${option} ${JSON.stringify(value)}: give a positive number of seconds`);
  if (n > 2_147_483) throw new UsageError(`${option} ${value}: at most 2147483 seconds (24.8 days)`);
  return n;
}

/**
 * Resolves at the first SIGINT or SIGTERM (the long-running commands stop on
 * either). Listening starts at the call: a command calls it before it starts
 * anything, so a signal during its start is a stop once started, not a kill.
 * `dispose()` stops listening (a start that failed).
 */
export function untilSignal(): Promise<void> & { dispose(): void } {
  let stop = (): void => undefined;
  const heard = new Promise<void>((res) => {
    stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      res();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return Object.assign(heard, {
    dispose: (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  });
}
