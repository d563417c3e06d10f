/**
 * Byte input for the readers: take a sample for sniffing without losing it,
 * decode a byte stream with iconv-lite (multi-byte characters split across
 * chunks are handled by its decoder), and split it into numbered lines.
 */
import iconv from 'iconv-lite';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The first bytes of a source (at least `size`, unless the source is shorter) and the source re-joined. */
export async function sniff(source: ByteSource, size = 64 * 1024): Promise<{ sample: Buffer; complete: boolean; chunks: AsyncIterable<Uint8Array> }> {
  const it = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source as Iterable<Uint8Array>));
  const head: Uint8Array[] = [];
  let total = 0;
  let complete = false;
  while (total < size) {
    const r = await it.next();
    if (r.done) { complete = true; break; }
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

/** A decoded line and its 1-based number. `last` is true for a final line with no line break. */
export interface TextLine { text: string; line: number }

/** Splits text chunks into lines on LF, CRLF or a lone CR. */
export async function* lines(text: AsyncIterable<string>): AsyncGenerator<TextLine> {
  let carry = '';
  let n = 0;
  let pendingCR = false;
  for await (const chunk of text) {
    let s = chunk;
    if (pendingCR && s.startsWith('\n')) s = s.slice(1);
    pendingCR = false;
    s = carry + s;
    let start = 0;
    for (;;) {
      const lf = s.indexOf('\n', start);
      const cr = s.indexOf('\r', start);
      if (lf < 0 && cr < 0) break;
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr + 1 === s.length) { pendingCR = true; next = cr + 1; }
        else next = s[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      yield { text: s.slice(start, end), line: ++n };
      start = next;
    }
    carry = s.slice(start);
  }
  if (carry.length > 0) yield { text: carry, line: ++n };
}
