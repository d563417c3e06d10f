/**
 * Daily reports (CRA) read from a file: the records as they come, the file
 * closed when the reading ends, early or not.
 */
import { createReadStream } from 'node:fs';
import { readCra, type CraRecord } from '../formats/cra.js';
import type { FindingList } from '../formats/findings.js';
import { closeStream } from './streams.js';

/** The records of a CRA file; problems go to `findings` (docs/formats.md, "Daily reports"). */
export async function* readCraFile(path: string, findings: FindingList, encoding?: string): AsyncGenerator<CraRecord> {
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  try {
    yield* readCra(stream, findings, encoding);
  } finally {
    await closeStream(stream);
  }
}
