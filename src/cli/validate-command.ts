import { validateTriggerFile } from '../files/read-trigger.js';
import { EXIT, formatFinding, sortFindings, type Io } from './output.js';
import { requireFile } from './options.js';

export interface ValidateCliOptions {
  documents?: string;
  json?: boolean;
  encoding?: string;
}

export async function runValidate(files: string[], opts: ValidateCliOptions, io: Io): Promise<number> {
  let code: number = EXIT.OK;
  for (const file of files) {
    try {
      await requireFile(file, 'trigger file');
    } catch (e) {
      io.err(`${file}: ${(e as Error).message}`);
      code = EXIT.USAGE;
      continue;
    }
    const r = await validateTriggerFile(file, {
      ...(opts.documents ? { documentsDir: opts.documents } : {}),
      ...(opts.encoding ? { encoding: opts.encoding } : {}),
    });
    if (opts.json) {
      const strip = (fs: typeof r.errors): object[] => fs.map((f) => ({ code: f.code, line: f.line ?? null, field: f.field ?? null, message: f.message }));
      io.out(
        JSON.stringify({
          file,
          valid: r.valid,
          format: r.format,
          encoding: r.encoding,
          contacts: r.contacts,
          errors: strip(r.errors),
          warnings: strip(r.warnings),
        }),
      );
    } else {
      for (const f of sortFindings([...r.errors, ...r.warnings])) io.out(formatFinding(file, f));
      io.out(
        `${file}: ${r.valid ? 'valid' : 'INVALID'} (${r.format.toUpperCase()}, ${r.encoding}, ${r.contacts.toLocaleString('en')} contacts, ${r.errors.length} error(s), ${r.warnings.length} warning(s))`,
      );
    }
    if (!r.valid && code === EXIT.OK) code = EXIT.INVALID;
  }
  return code;
}
