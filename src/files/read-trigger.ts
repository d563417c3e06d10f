/**
 * Opens a trigger file of either format and validates or converts it.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { readCsvTrigger, type ReadOptions, type TriggerReading } from '../formats/csv-reader.js';
import { FindingList } from '../formats/findings.js';
import type { TriggerHead } from '../formats/model.js';
import { validateReading, type ValidationReport } from '../formats/validate.js';
import { readXmlTrigger } from '../formats/xml-reader.js';
import { checkDocuments } from './documents.js';
import { closeStream } from './streams.js';

/** `csv` or `xml`, from the extension, else from the first non-blank byte. */
export async function detectTriggerFormat(path: string): Promise<'csv' | 'xml'> {
  if (/\.xml$/i.test(path)) return 'xml';
  if (/\.csv$/i.test(path)) return 'csv';
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const s = buf
      .subarray(0, bytesRead)
      .toString('latin1')
      .replace(/^\xEF\xBB\xBF/, '')
      .trimStart();
    return s.startsWith('<') ? 'xml' : 'csv';
  } finally {
    await fh.close();
  }
}

/** A trigger read from a file: `close()` releases the file, whether its contacts were read to the end or not. */
export type OpenedTrigger = TriggerReading & { close(): Promise<void> };

export async function openTriggerFile(path: string, findings: FindingList, opts: ReadOptions = {}): Promise<OpenedTrigger> {
  const format = await detectTriggerFormat(path);
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  try {
    const reading = await (format === 'xml' ? readXmlTrigger(stream, findings, opts) : readCsvTrigger(stream, findings, opts));
    return Object.assign(reading, { close: () => closeStream(stream) });
  } catch (e) {
    await closeStream(stream);
    throw e;
  }
}

/**
 * The head (command, columns) of a trigger file, from its first 256 KiB only:
 * for callers that need the command, not the contacts (no stream left open).
 */
export async function readTriggerHead(path: string): Promise<TriggerHead> {
  const format = await detectTriggerFormat(path);
  const fh = await open(path, 'r');
  let buf: Buffer;
  try {
    const b = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    buf = b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const findings = new FindingList(0);
  return (format === 'xml' ? await readXmlTrigger([buf], findings) : await readCsvTrigger([buf], findings)).head;
}

export interface ValidateFileOptions {
  /** Check the documents named by fileName / fileAttachment in this folder. */
  readonly documentsDir?: string;
  /** Read with this encoding whatever the file declares. */
  readonly encoding?: string;
  readonly findingCap?: number;
  /** File trigger (`|datejour|`, default) or email trigger (`|date|`). */
  readonly channel?: 'file' | 'email';
}

/** Validates one trigger file; content problems are in the report, I/O failures throw. */
export async function validateTriggerFile(path: string, opts: ValidateFileOptions = {}): Promise<ValidationReport> {
  const findings = new FindingList(opts.findingCap ?? 100);
  const reading = await openTriggerFile(path, findings, {
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
    ...(opts.channel ? { channel: opts.channel } : {}),
  });
  try {
    if (opts.documentsDir) {
      findings.addAll(await checkDocuments(reading.head.command, opts.documentsDir, reading.head.lines));
    }
    return await validateReading(reading, findings, opts.channel ? { channel: opts.channel } : {});
  } finally {
    await reading.close();
  }
}
