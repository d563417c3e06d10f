import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { convertTriggerFile } from '../files/convert.js';
import { EXIT, formatFinding, humanBytes, sortFindings, type Io } from './output.js';
import { outputEncoding, requireFile, triggerFormat } from './options.js';

export interface ConvertCliOptions { to: string; out?: string; encoding?: string; inputEncoding?: string; replaceForbidden?: boolean }

export async function runConvert(file: string, opts: ConvertCliOptions, io: Io): Promise<number> {
  const to = triggerFormat(opts.to);
  const encoding = outputEncoding(opts.encoding ?? 'iso-8859-15');
  await requireFile(file, 'trigger file');
  const out = opts.out ?? `${basename(file, extname(file))}.${to}`;
  const r = await convertTriggerFile(file, { to, out, encoding, replaceForbidden: opts.replaceForbidden ?? false, ...(opts.inputEncoding ? { inputEncoding: opts.inputEncoding } : {}) });
  for (const f of sortFindings(r.findings)) io.err(formatFinding(file, f));
  if (r.ok) io.out(`wrote ${out}: ${to.toUpperCase()}, ${encoding}, ${r.contacts.toLocaleString('en')} contacts, ${humanBytes(r.bytes)}`);
  else io.err(`convert failed: ${r.errors} error(s); nothing written to ${out}`);
  return r.ok ? EXIT.OK : EXIT.INVALID;
}

export function registerConvert(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('convert')
    .description('convert a trigger file between CSV and XML, canonically (errata fixed, documented order, ISO-8859-15)')
    .argument('<file>', 'trigger file (CSV or XML)')
    .requiredOption('--to <csv|xml>', 'output format')
    .option('--out <path>', 'output path (default: <file>.<format> in the current folder)')
    .option('--encoding <enc>', 'output encoding: iso-8859-15 or utf8', 'iso-8859-15')
    .option('--input-encoding <enc>', 'read with this encoding whatever the file declares')
    .option('--replace-forbidden', "replace ';' in contact fields and line breaks instead of refusing them")
    .addHelpText('after', '\nExit codes: 0 converted, 1 invalid input (nothing written), 2 usage or I/O error.')
    .action(async (file: string, opts: ConvertCliOptions) => { setExit(await runConvert(file, opts, io)); });
}
