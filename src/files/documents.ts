/**
 * Checks the documents a trigger names (fileName, fileAttachment) against a
 * local documents folder: present, of an allowed type, and WAV files in one
 * of the three formats the platform plays (guide line 9090). File names from
 * the trigger never leave the folder: a name with a path is refused.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finding, type Finding } from '../formats/findings.js';
import type { SourceLines, TriggerCommand } from '../formats/model.js';
import { ALLOWED_WAV, wavFormat } from '../formats/wav.js';
import { isBareFileName } from '../formats/rules/command-rules.js';

import { DOCUMENT_EXTENSIONS } from '../formats/document-types.js';

export { DOCUMENT_EXTENSIONS };

/** The documents a command names, with where. */
export function referencedDocuments(command: TriggerCommand): { name: string; key: string; field: string }[] {
  const out: { name: string; key: string; field: string }[] = [];
  (command.messages ?? []).forEach((b, i) => {
    if (b.fileName !== undefined) out.push({ name: b.fileName, key: `messages[${i}].fileName`, field: 'fileName' });
    (b.fileAttachment ?? []).forEach((f, k) => out.push({ name: f, key: `messages[${i}].fileAttachment#${k}`, field: 'fileAttachment' }));
  });
  return out;
}

export async function checkDocuments(command: TriggerCommand, dir: string, lines: SourceLines = {}): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const doc of referencedDocuments(command)) {
    const where = { field: doc.field, line: lines[doc.key] ?? lines[doc.key.replace(/#\d+$/, '')] };
    // A name with a path is E_DOCUMENT_PATH from the command rules, always: it is never looked up on disk.
    if (!isBareFileName(doc.name)) continue;
    const ext = doc.name.includes('.') ? doc.name.split('.').pop()!.toLowerCase() : '';
    if (!(DOCUMENT_EXTENSIONS as readonly string[]).includes(ext)) {
      out.push(finding('E_DOCUMENT_TYPE', `${doc.field} '${doc.name}' is not a type the platform takes (${DOCUMENT_EXTENSIONS.join(', ')})`, where));
    }
    const path = join(dir, doc.name);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) {
      out.push(finding('E_DOCUMENT_MISSING', `${doc.field} '${doc.name}' is not in ${dir}: the document must be sent before the trigger that names it`, where));
      continue;
    }
    if (ext === 'wav') {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(4096);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        const info = wavFormat(buf.subarray(0, bytesRead));
        if (!info.ok) out.push(finding('E_WAV_FORMAT', `${doc.name}: ${info.reason}; voice messages need a WAV file in ${ALLOWED_WAV.join(', ')}`, where));
        else if (!(ALLOWED_WAV as readonly string[]).includes(info.format)) {
          out.push(
            finding(
              'E_WAV_FORMAT',
              `${doc.name} is ${info.format}; the platform plays ${ALLOWED_WAV.join(', ')} only: convert it (e.g. sox in.wav -r 8000 -c 1 -e a-law out.wav)`,
              where,
            ),
          );
        }
      } finally {
        await fh.close();
      }
    }
  }
  return out;
}
