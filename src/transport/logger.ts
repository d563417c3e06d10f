/**
 * The structured logger the transport and the CLI write to (pino). Library
 * code never writes to the console; secrets never reach a log line: Secret
 * objects print as `[secret]` and the usual secret keys are redacted.
 */
import { createRequire } from 'node:module';
import pino from 'pino';

export type Logger = pino.Logger;

export const REDACT = [
  'password',
  'passphrase',
  'privateKey',
  '*.password',
  '*.passphrase',
  '*.privateKey',
  'transport.password',
  'transport.passphrase',
  'transport.privateKey',
];

/** A logger to a stream (stderr by default), JSON lines. */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    { level: opts.level ?? 'info', redact: { paths: REDACT, censor: '[secret]' }, base: undefined },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/**
 * For the CLI: readable lines on a terminal, JSON lines otherwise, on
 * stderr. `readable` forces readable lines (the sandbox, a console for a
 * person whatever its output is). pino-pretty loads only then.
 */
export function cliLogger(level = 'warn', opts: { readable?: boolean } = {}): Logger {
  if (process.stderr.isTTY || opts.readable) {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => pino.DestinationStream;
    return pino(
      { level, redact: { paths: REDACT, censor: '[secret]' }, base: undefined },
      pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), ignore: 'time', singleLine: true }),
    );
  }
  return createLogger({ level });
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = pino({ level: 'silent' });
