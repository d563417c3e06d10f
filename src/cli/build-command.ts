import { basename, dirname, extname, join } from 'node:path';
import { parseCommandFile } from '../formats/command-file.js';
import { MAX_CONTACTS } from '../formats/contacts.js';
import { type Finding, TriggerFormatError } from '../formats/findings.js';
import { fillBroadcastName } from '../formats/paris-time.js';
import { parseMapping } from '../formats/si-export.js';
import { buildTriggerFiles } from '../files/build.js';
import { EXIT, formatFinding, humanBytes, progress, sortFindings, UsageError, type Io } from './output.js';
import { outputEncoding, outputPath, readInput, requireFile, triggerFormat } from './options.js';

export interface BuildCliOptions {
  command: string;
  contacts?: string;
  format?: string;
  out?: string;
  split?: string | boolean;
  encoding?: string;
  inputEncoding?: string;
  delimiter?: string;
  map?: string[];
  replaceForbidden?: boolean;
  rejectBadRows?: boolean;
  maxRejected?: string;
  json?: boolean;
}

/** `--max-rejected`: a count (10) or a share of the rows (5%). */
export function parseMaxRejected(v: string): number | string {
  if (/^\d+$/.test(v)) return Number(v);
  if (/^\d+(\.\d+)?%$/.test(v) && Number(v.slice(0, -1)) <= 100) return v;
  throw new UsageError(`--max-rejected takes a number of rows (10) or a share of them (5%), not '${v}'`);
}

export async function runBuild(opts: BuildCliOptions, io: Io): Promise<number> {
  const format = triggerFormat(opts.format ?? 'csv');
  const encoding = outputEncoding(opts.encoding ?? 'iso-8859-15');
  let split: number | undefined;
  if (opts.split !== undefined && opts.split !== false) {
    split = opts.split === true ? MAX_CONTACTS : Number(opts.split);
    if (!Number.isInteger(split) || split < 1 || split > MAX_CONTACTS)
      throw new UsageError(`--split takes a number of contacts per file from 1 to ${MAX_CONTACTS}, not '${opts.split}'`);
  }
  if (opts.maxRejected !== undefined && !opts.rejectBadRows) throw new UsageError('--max-rejected goes with --reject-bad-rows');
  const maxRejected = opts.maxRejected !== undefined ? parseMaxRejected(opts.maxRejected) : undefined;
  const mapping = parseMapping(opts.map ?? []);
  if (mapping.problems.length) throw new UsageError(`--map: ${mapping.problems.join('; ')}`);
  const text = await readInput(opts.command, 'command file');
  let command;
  try {
    command = parseCommandFile(text, opts.command);
  } catch (e) {
    if (!(e instanceof TriggerFormatError)) throw e;
    for (const f of e.findings) io.err(formatFinding(opts.command, f));
    if (opts.json) io.out(JSON.stringify({ file: opts.command, ok: false, errors: e.findings, warnings: [] }));
    return EXIT.INVALID;
  }
  if (opts.contacts) await requireFile(opts.contacts, 'contacts export');
  // The placeholders the daemon fills, filled the same way here (now, the export's name).
  if (typeof command.broadcastName === 'string')
    command = {
      ...command,
      broadcastName: fillBroadcastName(command.broadcastName, new Date(), opts.contacts ? basename(opts.contacts, extname(opts.contacts)) : undefined),
    };
  const out = await outputPath(
    opts.out,
    `${opts.contacts ? basename(opts.contacts, extname(opts.contacts)) : basename(opts.command, extname(opts.command))}.trigger.${format}`,
  );
  const bar = progress(io, 'building');
  const result = await buildTriggerFiles(command, opts.contacts, {
    out,
    format,
    encoding,
    ...(split !== undefined ? { split } : {}),
    replaceForbidden: opts.replaceForbidden ?? false,
    ...(opts.rejectBadRows
      ? { rejectRows: { out: join(dirname(out), `${basename(out, extname(out))}.rejected.csv`), ...(maxRejected !== undefined ? { max: maxRejected } : {}) } }
      : {}),
    export: {
      ...(opts.inputEncoding ? { encoding: opts.inputEncoding } : {}),
      ...(opts.delimiter ? { delimiter: opts.delimiter === '\\t' || opts.delimiter === 'tab' ? '\t' : opts.delimiter } : {}),
      map: mapping.map,
    },
    onProgress: (n) => bar.tick(n),
  });
  bar.done();
  // A finding about the export (or a contact, by its line in the export) names the export; the rest, the command file.
  const fileOf = (f: Finding): string => (opts.contacts && (f.source === 'export' || f.line !== undefined) ? opts.contacts : opts.command);
  for (const f of sortFindings(result.findings)) io.err(formatFinding(fileOf(f), f));
  if (opts.json) {
    io.out(
      JSON.stringify({
        ok: result.ok,
        contacts: result.contacts,
        rejected: result.rejected,
        ...(result.rejectedFile ? { rejectedFile: result.rejectedFile } : {}),
        files: result.files,
        export: result.export ? { ...result.export, mapping: Object.fromEntries(result.export.mapping) } : undefined,
        errors: result.findings.filter((f) => f.severity === 'error'),
        warnings: result.findings.filter((f) => f.severity === 'warning'),
      }),
    );
  } else if (result.ok) {
    if (result.export) {
      const delim = result.export.delimiter === '\t' ? 'tab' : `'${result.export.delimiter ?? ''}'`;
      io.out(
        `read ${opts.contacts}: ${result.export.format}, ${result.export.encoding} (${result.export.encodingReason})${result.export.format === 'csv' ? `, delimiter ${delim}` : ''}; columns ${[...result.export.mapping].map(([k, v]) => `${k}<-${v}`).join(', ')}`,
      );
    }
    for (const f of result.files)
      io.out(`wrote ${f.path}: ${f.contacts.toLocaleString('en')} contacts, ${humanBytes(f.bytes)}, broadcast "${f.broadcastName}"`);
    if (result.rejectedFile) io.out(`left out ${result.rejected.toLocaleString('en')} row(s) with errors: ${result.rejectedFile} (line and reason of each)`);
  } else {
    io.err(`build failed: ${result.errors} error(s); nothing written to ${out}`);
  }
  return result.ok ? EXIT.OK : EXIT.INVALID;
}
