// Validate trigger files, or bytes received from elsewhere, against every rule of the guide.
// Run: node examples/library/validate.mjs
import { readFileSync } from 'node:fs';
import { validateTrigger } from 'dmc-trigger';

const report = await validateTrigger('samples/fax-pdf.csv', { documentsDir: 'samples/documents' });
console.log(`samples/fax-pdf.csv: ${report.valid ? 'valid' : 'invalid'}, ${report.contacts} contacts, ${report.format}, ${report.encoding}`);

// Bytes (an upload, a message body): the same checks, each finding with its line and field.
const broken = readFileSync('samples/sms.csv', 'latin1').replace('priority:2', 'priority:3');
const bad = await validateTrigger(Buffer.from(broken, 'latin1'));
for (const e of bad.errors) console.log(`line ${e.line} ${e.field}: ${e.code} ${e.message}`);
process.exitCode = report.valid && !bad.valid ? 0 : 1;
