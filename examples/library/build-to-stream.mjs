// Build an XML trigger from a command file and an SI export, streamed to any Writable
// (here a file; an HTTP response or a socket works the same way).
// Run: node examples/library/build-to-stream.mjs [out-dir]
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTrigger } from 'dmc-trigger';

const out = join(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'dmc-example-')), 'sms.xml');
const result = await buildTrigger({
  command: 'templates/sms.yaml',
  contacts: 'samples/exports/crm-semicolon.csv',
  format: 'xml',
  to: createWriteStream(out),
});
// To a stream, bytes go out as they are made: on an error, discard what was written.
if (!result.ok) {
  rmSync(out, { force: true });
  console.error(result.findings);
  process.exit(1);
}
console.log(`streamed ${result.contacts} contacts to ${out}; ${result.warnings} warning(s)`);
