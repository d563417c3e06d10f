/**
 * Byte input for the readers: take a sample for sniffing without losing it,
 * decode a byte stream with iconv-lite (multi-byte characters split across
 * chunks are handled by its decoder), and split it into numbered lines.
 */
import iconv from 'iconv-lite';
import { finding, type FindingList } from './findings.js';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The first bytes of a source (at least `size`, unless the source is shorter) and the source re-joined. */
export async function sniff(source: ByteSource, size = 64 * 1024): Promise<{ sample: Buffer; complete: boolean; chunks: AsyncIterable<Uint8Array> }> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source as Iterable<Uint8Array>);
  const head: Uint8Array[] = [];
  let total = 0;
  let complete = false;
  while (total < size) {
    const r = await it.next();
    if (r.done) {
      complete = true;
      break;
    }
    head.push(r.value);
    total += r.value.length;
  }
  const sample = Buffer.concat(head);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (sample.length > 0) yield sample;
    if (complete) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { sample, complete, chunks: rest() };
}

function toAsync<T>(it: Iterable<T>): AsyncIterator<T> {
  const inner = it[Symbol.iterator]();
  return { next: async () => inner.next() };
}

/** Decodes chunks to strings; drops a leading byte order mark. */
export async function* decode(chunks: AsyncIterable<Uint8Array>, encoding: string): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(encoding, { stripBOM: true });
  for await (const c of chunks) {
    const s = decoder.write(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    if (s) yield s;
  }
  const tail = decoder.end();
  if (tail) yield tail;
}

/** The longest line the readers take by default, in characters: generous for any trigger, export or report line. */
export const MAX_LINE_LENGTH = 1 << 20;

/** The most a line may be raised to (memory stays bounded: a line is held whole). */
export const MAX_LINE_LENGTH_CEILING = 64 << 20;

/**
 * The line cap in force: `DMC_MAX_LINE_LENGTH` (characters; what the CLI's
 * `--max-line-length` sets) when it is a number within bounds, else 1 MiB.
 * Read at each reading, so a daemon's `Environment=` applies too.
 */
export function maxLineLength(): number {
  const v = Number(process.env['DMC_MAX_LINE_LENGTH']);
  return Number.isInteger(v) && v >= 1024 && v <= MAX_LINE_LENGTH_CEILING ? v : MAX_LINE_LENGTH;
}

/** How to raise the cap, said with every line refused. */
const RAISE = 'or raise the limit: --max-line-length <characters>, or DMC_MAX_LINE_LENGTH';

/** A line longer than the limit: the input is refused there, with the line's number. */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(
    readonly line: number,
    readonly max: number,
  ) {
    super(`line ${line} is longer than ${max} characters: not a file this tool reads (a missing line break, or binary data; ${RAISE})`);
  }
}

/** A decoded line and its 1-based number. */
export interface TextLine {
  text: string;
  line: number;
}

/**
 * Splits text chunks into lines on LF, CRLF or a lone CR, in linear time
 * (each chunk is searched once; a line spread over chunks is joined once).
 * A line longer than `maxLength` throws LineTooLongError as soon as it is
 * seen, so memory stays bounded on an input without line breaks.
 */
export async function* lines(text: AsyncIterable<string>, maxLength = maxLineLength()): AsyncGenerator<TextLine> {
  for await (const batch of lineBatches(text, maxLength)) yield* batch;
}

/**
 * `lines`, a chunk's lines at a time: for readers of large files, which then
 * walk each batch synchronously (one await per chunk, not one per line).
 */
export async function* lineBatches(text: AsyncIterable<string>, maxLength = maxLineLength()): AsyncGenerator<TextLine[]> {
  let parts: string[] = [];
  let partsLength = 0;
  let n = 0;
  let pendingCR = false;
  for await (const chunk of text) {
    const batch: TextLine[] = [];
    let start = 0;
    if (pendingCR && chunk.startsWith('\n')) start = 1;
    pendingCR = false;
    // Each of LF and CR is searched again only once passed: a chunk is scanned once, not once per line.
    let lf = -1;
    let cr = -1;
    for (;;) {
      if (lf !== Infinity && lf < start) {
        lf = chunk.indexOf('\n', start);
        if (lf < 0) lf = Infinity;
      }
      if (cr !== Infinity && cr < start) {
        cr = chunk.indexOf('\r', start);
        if (cr < 0) cr = Infinity;
      }
      if (lf === Infinity && cr === Infinity) break;
      const end = Math.min(lf, cr);
      let next = end + 1;
      if (end === cr) {
        if (cr + 1 === chunk.length) pendingCR = true;
        else if (chunk[cr + 1] === '\n') next = cr + 2;
      }
      if (partsLength + end - start > maxLength) {
        if (batch.length) yield batch;
        throw new LineTooLongError(n + 1, maxLength);
      }
      const piece = chunk.slice(start, end);
      const line = partsLength > 0 ? parts.join('') + piece : piece;
      parts = [];
      partsLength = 0;
      batch.push({ text: line, line: ++n });
      start = next;
    }
    if (batch.length) yield batch;
    if (start < chunk.length) {
      partsLength += chunk.length - start;
      if (partsLength > maxLength) throw new LineTooLongError(n + 1, maxLength);
      parts.push(chunk.slice(start));
    }
  }
  if (partsLength > 0) yield [{ text: parts.join(''), line: n + 1 }];
}

/** `lineBatches`, with a line over the limit reported as E_LINE_TOO_LONG (with its number) where the input then ends. */
export async function* boundedLineBatches(text: AsyncIterable<string>, findings: FindingList, maxLength = maxLineLength()): AsyncGenerator<TextLine[]> {
  try {
    yield* lineBatches(text, maxLength);
  } catch (e) {
    if (!(e instanceof LineTooLongError)) throw e;
    findings.add(finding('E_LINE_TOO_LONG', e.message, { line: e.line }));
  }
}

/** `lines`, with a line over the limit reported as E_LINE_TOO_LONG (with its number) where the input then ends. */
export async function* boundedLines(text: AsyncIterable<string>, findings: FindingList, maxLength = maxLineLength()): AsyncGenerator<TextLine> {
  try {
    yield* lines(text, maxLength);
  } catch (e) {
    if (!(e instanceof LineTooLongError)) throw e;
    findings.add(finding('E_LINE_TOO_LONG', e.message, { line: e.line }));
  }
}
