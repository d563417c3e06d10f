/**
 * WAV documents for voice messages must be one of three formats (guide
 * multimediaType WAV, line 9090): ALAW:1:8000:8, PCM_SIGNED:1:8000:16,
 * ULAW:1:8000:8 (encoding:channels:rate:bits). Reads the RIFF header only.
 */

export const ALLOWED_WAV = ['ALAW:1:8000:8', 'PCM_SIGNED:1:8000:16', 'ULAW:1:8000:8'] as const;

export type WavInfo = { ok: true; format: string } | { ok: false; reason: string };

const FORMAT_NAMES: Readonly<Record<number, string>> = { 1: 'PCM_SIGNED', 3: 'PCM_FLOAT', 6: 'ALAW', 7: 'ULAW' };

/** Describes a WAV file from its first bytes (the `fmt ` chunk must be within them; 4 KiB is plenty). */
export function wavFormat(head: Uint8Array): WavInfo {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    return { ok: false, reason: 'not a RIFF/WAVE file' };
  }
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      if (off + 8 + 16 > b.length) return { ok: false, reason: 'truncated fmt chunk' };
      let tag = b.readUInt16LE(off + 8);
      const channels = b.readUInt16LE(off + 10);
      const rate = b.readUInt32LE(off + 12);
      const bits = b.readUInt16LE(off + 22);
      if (tag === 0xfffe && size >= 40 && off + 8 + 26 <= b.length) tag = b.readUInt16LE(off + 8 + 24);
      const name = FORMAT_NAMES[tag] ?? `format tag ${tag}`;
      if (name === 'PCM_SIGNED' && bits === 8) return { ok: true, format: `PCM_UNSIGNED:${channels}:${rate}:${bits}` };
      return { ok: true, format: `${name}:${channels}:${rate}:${bits}` };
    }
    off += 8 + size + (size % 2);
  }
  return { ok: false, reason: 'no fmt chunk in the first bytes' };
}
