import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocuments } from '../../src/files/documents.js';
import { wavFormat } from '../../src/formats/wav.js';
import { SMS } from '../helpers/trigger.js';

function wav(tag: number, channels: number, rate: number, bits: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(tag, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36);
  h.writeUInt32LE(0, 40);
  return h;
}

describe('WAV formats (guide line 9090)', () => {
  it('recognises the three allowed formats and names others', () => {
    expect(wavFormat(wav(6, 1, 8000, 8))).toEqual({ ok: true, format: 'ALAW:1:8000:8' });
    expect(wavFormat(wav(7, 1, 8000, 8))).toEqual({ ok: true, format: 'ULAW:1:8000:8' });
    expect(wavFormat(wav(1, 1, 8000, 16))).toEqual({ ok: true, format: 'PCM_SIGNED:1:8000:16' });
    expect(wavFormat(wav(1, 2, 44100, 16))).toEqual({ ok: true, format: 'PCM_SIGNED:2:44100:16' });
    expect(wavFormat(Buffer.from('ID3 mp3 data here'))).toEqual({ ok: false, reason: 'not a RIFF/WAVE file' });
  });
});

describe('documents named by a trigger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmc-docs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ok.wav'), wav(6, 1, 8000, 8));
  writeFileSync(join(dir, 'cd.wav'), wav(1, 2, 44100, 16));
  writeFileSync(join(dir, 'a.pdf'), '%PDF-1.4');
  writeFileSync(join(dir, 'prog.exe'), 'MZ');

  const withBlocks = (messages: NonNullable<typeof SMS.messages>) => ({ ...SMS, messages });

  it('accepts present documents of allowed types', async () => {
    expect(
      await checkDocuments(
        withBlocks([
          { multimediaType: 'WAV', fileName: 'ok.wav' },
          { multimediaType: 'PDF', fileName: 'a.pdf' },
        ]),
        dir,
      ),
    ).toEqual([]);
  });

  it('reports a missing document, a forbidden type, a WAV in the wrong format; a name with a path is not looked up', async () => {
    const f = await checkDocuments(
      withBlocks([
        { multimediaType: 'WAV', fileName: 'cd.wav' },
        { multimediaType: 'PDF', fileName: 'missing.pdf', fileAttachment: ['prog.exe', '../etc/passwd'] },
      ]),
      dir,
    );
    // '../etc/passwd' is never looked up on disk: the command rules report it as E_DOCUMENT_PATH (test/unit/hostile.test.ts).
    expect(f.map((x) => x.code)).toEqual(['E_WAV_FORMAT', 'E_DOCUMENT_MISSING', 'E_DOCUMENT_TYPE']);
    expect(f[0]!.message).toMatch(/PCM_SIGNED:2:44100:16.*ALAW:1:8000:8/);
  });
});
