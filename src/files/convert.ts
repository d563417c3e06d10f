/**
 * Converts a trigger file between CSV and XML (and re-encodes it): read with
 * the lenient reader, write canonically with every rule applied. The output
 * appears only when complete and valid.
 */
import { FindingList, type Finding } from '../formats/findings.js';
import type { ContactColumn } from '../formats/contacts.js';
import type { OutputEncoding } from '../formats/model.js';
import { encodeTrigger, type EncodeStats, type SourcedRow, type TriggerFormat } from '../formats/trigger-encoder.js';
import { PendingFile } from './atomic.js';
import { openTriggerFile } from './read-trigger.js';

export interface ConvertOptions {
  readonly to: TriggerFormat;
  readonly out: string;
  readonly encoding?: OutputEncoding;
  readonly replaceForbidden?: boolean;
  /** Read with this encoding whatever the input declares. */
  readonly inputEncoding?: string;
  readonly findingCap?: number;
}

export interface ConvertResult {
  readonly ok: boolean;
  readonly out?: string;
  readonly contacts: number;
  readonly bytes: number;
  readonly findings: Finding[];
  readonly errors: number;
  readonly warnings: number;
}

export async function convertTriggerFile(path: string, opts: ConvertOptions): Promise<ConvertResult> {
  const findings = new FindingList(opts.findingCap ?? 100);
  const readOpts = opts.inputEncoding ? { encoding: opts.inputEncoding } : {};
  const reading = await openTriggerFile(path, findings, readOpts);
  try {
    let columns: ContactColumn[] = reading.head.columns;
    const contacts: AsyncIterable<{ line: number; values: string[] }> = reading.contacts;
    if (reading.head.format === 'xml') {
      // XML contacts may add elements as they come: a first pass finds every column.
      const scan = await openTriggerFile(path, new FindingList(0), readOpts);
      try {
        for await (const _ of scan.contacts) {
          /* drain */
        }
        columns = scan.head.columns;
      } finally {
        await scan.close();
      }
    }
    const stats: EncodeStats = { contacts: 0, bytes: 0 };
    const done = (ok: boolean, out?: string): ConvertResult => ({
      ok,
      contacts: stats.contacts,
      bytes: stats.bytes,
      findings: findings.list(),
      errors: findings.errors,
      warnings: findings.warnings,
      ...(out ? { out } : {}),
    });
    if (findings.hasErrors) return done(false);
    const width = columns.length;
    async function* rows(): AsyncGenerator<SourcedRow> {
      for await (const c of contacts) {
        const values = c.values.length < width ? [...c.values, ...new Array<string>(width - c.values.length).fill('')] : c.values;
        yield { values, line: c.line };
      }
    }
    const file = new PendingFile(opts.out);
    try {
      const encoded = encodeTrigger({
        command: reading.head.command,
        columns,
        rows: rows(),
        findings,
        format: opts.to,
        encoding: opts.encoding ?? 'iso-8859-15',
        replaceForbidden: opts.replaceForbidden ?? false,
      });
      await file.write(encoded);
      Object.assign(stats, encoded.stats);
      if (findings.hasErrors) {
        await file.discard();
        return done(false);
      }
      await file.commit();
      return done(true, opts.out);
    } catch (e) {
      await file.discard();
      throw e;
    }
  } finally {
    await reading.close();
  }
}
