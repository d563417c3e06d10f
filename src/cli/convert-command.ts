import { basename, extname } from 'node:path';
import { convertTriggerFile } from '../files/convert.js';
import { EXIT, formatFinding, humanBytes, sortFindings, type Io } from './output.js';
import { outputEncoding, outputPath, requireFile, triggerFormat } from './options.js';

export interface ConvertCliOptions {
  to: string;
  out?: string;
  encoding?: string;
  inputEncoding?: string;
  replaceForbidden?: boolean;
}

export async function runConvert(file: string, opts: ConvertCliOptions, io: Io): Promise<number> {
  const to = triggerFormat(opts.to);
  const encoding = outputEncoding(opts.encoding ?? 'iso-8859-15');
  await requireFile(file, 'trigger file');
  const out = await outputPath(opts.out, `${basename(file, extname(file))}.${to}`);
  const r = await convertTriggerFile(file, {
    to,
    out,
    encoding,
    replaceForbidden: opts.replaceForbidden ?? false,
    ...(opts.inputEncoding ? { inputEncoding: opts.inputEncoding } : {}),
  });
  for (const f of sortFindings(r.findings)) io.err(formatFinding(file, f));
  if (r.ok) io.out(`wrote ${out}: ${to.toUpperCase()}, ${encoding}, ${r.contacts.toLocaleString('en')} contacts, ${humanBytes(r.bytes)}`);
  else io.err(`convert failed: ${r.errors} error(s); nothing written to ${out}`);
  return r.ok ? EXIT.OK : EXIT.INVALID;
}
