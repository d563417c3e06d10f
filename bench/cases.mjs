// One benchmark case per process, so that its peak RSS is its own.
// Usage: node bench/cases.mjs <case> <dir> <n>; prints {"ms":..,"rssMB":..,"out":..} on stdout.
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse';
import { buildTriggerFiles, encodeTrigger, FindingList, validateTriggerFile } from '../dist/formats/index.js';
import { COMMAND, contact, DMC_COLUMNS } from './data.mjs';

const [name, dir, nArg] = process.argv.slice(2);
const n = Number(nArg);
const rows =
  name.endsWith('-mem') ||
  name.startsWith('baseline-csv') ||
  name.startsWith('baseline-xml') ||
  name.startsWith('project-csv') ||
  name.startsWith('project-xml') ||
  name.startsWith('library-')
    ? Array.from({ length: n }, (_, i) => contact(i))
    : undefined;

const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function* batches(gen) {
  let buf = '';
  for (const s of gen) {
    buf += s;
    if (buf.length >= 65536) {
      yield iconv.encode(buf, 'iso-8859-15');
      buf = '';
    }
  }
  if (buf) yield iconv.encode(buf, 'iso-8859-15');
}

const cases = {
  // The libraries first chosen, kept as baselines (the writers replaced them for speed: src/formats/csv-writer.ts,
  // xml-writer.ts). csv-stringify, streaming, ';' and no quoting needed, then iconv-lite to ISO-8859-15; no checks.
  async 'library-csv-stringify'() {
    const { stringify } = await import('csv-stringify');
    const out = join(dir, 'csv-stringify.csv');
    const s = stringify({ delimiter: ';', record_delimiter: 'unix', encoding: 'utf8' });
    s.setEncoding('utf8');
    const encode = iconv.encodeStream('iso-8859-15');
    const ws = createWriteStream(out);
    ws.write(iconv.encode(`#COMMAND\nserviceId:${COMMAND.serviceId}\n#CONTACTS\n${DMC_COLUMNS.join(';')}\n`, 'iso-8859-15'));
    const done = pipeline(s, encode, ws);
    for (const r of rows) if (!s.write(r)) await new Promise((res) => s.once('drain', res));
    s.end();
    await done;
    return out;
  },
  // xmlbuilder2: the document built as a tree, serialized, then encoded; no checks.
  async 'library-xmlbuilder2'() {
    const { create } = await import('xmlbuilder2');
    const out = join(dir, 'xmlbuilder2.xml');
    const tags = ['name', 'forename', 'phoneNumber1', 'externalReference', 'info1'];
    const doc = create({ version: '1.0', encoding: 'ISO-8859-15' }).ele('dmc');
    doc.ele('auth').ele('serviceId').txt(COMMAND.serviceId);
    const contacts = doc.ele('contacts');
    for (const r of rows) {
      const c = contacts.ele('contact');
      for (let i = 0; i < tags.length; i++) c.ele(tags[i]).txt(r[i]);
    }
    writeFileSync(out, iconv.encode(doc.end({ prettyPrint: false }), 'iso-8859-15'));
    return out;
  },
  // Naive CSV writer: join + iconv-lite encode, no checks at all.
  async 'baseline-csv'() {
    const out = join(dir, 'baseline.csv');
    function* text() {
      yield `#COMMAND\nserviceId:${COMMAND.serviceId}\n#CONTACTS\n${DMC_COLUMNS.join(';')}\n`;
      for (const r of rows) yield r.join(';') + '\n';
      yield '#END\n';
    }
    await pipeline(Readable.from(batches(text())), createWriteStream(out));
    return out;
  },
  // The project's streaming writer with every value checked and every rule applied.
  async 'project-csv'() {
    const out = join(dir, 'project.csv');
    const f = new FindingList();
    await pipeline(Readable.from(encodeTrigger({ command: COMMAND, columns: DMC_COLUMNS, rows, findings: f })), createWriteStream(out));
    if (f.hasErrors) throw new Error(JSON.stringify(f.list().slice(0, 3)));
    return out;
  },
  // Hand-written XML template: string concatenation with escaping, no checks.
  async 'baseline-xml'() {
    const out = join(dir, 'baseline.xml');
    const tags = ['name', 'forename', 'phoneNumber1', 'externalReference', 'info1'];
    function* text() {
      yield `<?xml version="1.0" encoding="ISO-8859-15"?>\n<dmc><auth><serviceId>${COMMAND.serviceId}</serviceId></auth><contacts>\n`;
      for (const r of rows) {
        let s = '<contact>';
        for (let i = 0; i < tags.length; i++) s += `<${tags[i]}>${esc(r[i])}</${tags[i]}>`;
        yield s + '</contact>\n';
      }
      yield '</contacts></dmc>\n';
    }
    await pipeline(Readable.from(batches(text())), createWriteStream(out));
    return out;
  },
  async 'project-xml'() {
    const out = join(dir, 'project.xml');
    const f = new FindingList();
    await pipeline(Readable.from(encodeTrigger({ command: COMMAND, columns: DMC_COLUMNS, rows, format: 'xml', findings: f })), createWriteStream(out));
    if (f.hasErrors) throw new Error(JSON.stringify(f.list().slice(0, 3)));
    return out;
  },
  // csv-parse streaming over the trigger's bytes (decoded by iconv-lite), counting records.
  async 'baseline-parse'() {
    // From the header line on: with the 1-field command lines first, csv-parse's relax_column_count
    // path builds an error object per record and runs 6x slower, which would flatter the project.
    const head = readFileSync(join(dir, 'trigger.csv')).subarray(0, 65536).toString('latin1').split('\n');
    const fromLine = head.indexOf('#CONTACTS') + 2;
    let count = 0;
    const parser = parse({ delimiter: ';', relax_column_count: true, quote: false, from_line: fromLine });
    parser.on('data', () => {
      count++;
    });
    await pipeline(createReadStream(join(dir, 'trigger.csv')), iconv.decodeStream('iso-8859-15'), parser);
    return `${count} records`;
  },
  async 'project-parse'() {
    const r = await validateTriggerFile(join(dir, 'trigger.csv'));
    if (!r.valid) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
    return `${r.contacts} contacts, valid`;
  },
  async 'project-xml-parse'() {
    const r = await validateTriggerFile(join(dir, 'trigger.xml'));
    if (!r.valid) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
    return `${r.contacts} contacts, valid`;
  },
  // The whole build from an SI export file (csv-parse, mapping, checks, writing) and its naive equivalent.
  async 'baseline-build'() {
    const out = join(dir, 'baseline-build.csv');
    const parser = parse({ delimiter: ';', bom: true, from_line: 2 });
    const reading = pipeline(createReadStream(join(dir, 'export.csv')), parser);
    async function* text() {
      yield `#COMMAND\n#CONTACTS\n${DMC_COLUMNS.join(';')}\n`;
      for await (const r of parser) yield r.join(';') + '\n';
      yield '#END\n';
    }
    async function* enc() {
      let b = '';
      for await (const s of text()) {
        b += s;
        if (b.length > 65536) {
          yield iconv.encode(b, 'iso-8859-15');
          b = '';
        }
      }
      yield iconv.encode(b, 'iso-8859-15');
    }
    await Promise.all([reading, pipeline(Readable.from(enc()), createWriteStream(out))]);
    return out;
  },
  async 'project-build'() {
    const r = await buildTriggerFiles(COMMAND, join(dir, 'export.csv'), { out: join(dir, 'project-build.csv'), export: { map: { INFO1: 'Info' } } });
    if (!r.ok) throw new Error(JSON.stringify(r.findings.slice(0, 3)));
    return `${r.contacts} contacts`;
  },
  async 'project-split'() {
    const r = await buildTriggerFiles(COMMAND, join(dir, 'export-big.csv'), {
      out: join(dir, 'split', 'part.csv'),
      split: 100_000,
      export: { map: { INFO1: 'Info' } },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.findings.slice(0, 3)));
    return `${r.files.length} files, ${r.contacts} contacts`;
  },
};

const t0 = process.hrtime.bigint();
const out = await cases[name]();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ ms, rssMB: process.resourceUsage().maxRSS / 1024, out }) + '\n');
void writeFileSync;
