/**
 * Prepares an email trigger from a command file (+ an SI export) or a
 * trigger file: the plain-text body, the contacts as an ISO-8859-15 `.csv`
 * attachment with its header (built by the same encoder, with every rule),
 * and the documents the command names, attached under those exact names.
 * Everything is checked before anything is sent.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseCommandFile } from '../formats/command-file.js';
import { encodeLatin9 } from '../formats/encoding.js';
import { finding, FindingList, TriggerFormatError, type Finding } from '../formats/findings.js';
import iconv from 'iconv-lite';
import { emailTriggerBody, MAIL_DOCUMENT_EXTENSIONS } from '../formats/mail.js';
import type { TriggerCommand } from '../formats/model.js';
import { readSiExport } from '../formats/si-export.js';
import { TriggerEncoder, type EncodeStats, type SourcedRow } from '../formats/trigger-encoder.js';
import { ALLOWED_WAV, wavFormat } from '../formats/wav.js';
import type { ContactColumn } from '../formats/contacts.js';
import { referencedDocuments } from './documents.js';
import { openTriggerFile } from './read-trigger.js';
import { closeStream } from './streams.js';

/** Contacts attached to one email are held in memory: bounded. */
const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

export interface EmailTriggerInput {
  /** A command file (.yaml, .yml, .json) or a trigger file (.csv, .xml). */
  readonly source: string;
  /** An SI export, with a command file. */
  readonly contacts?: string;
  readonly documents?: readonly string[];
  readonly map?: Readonly<Partial<Record<ContactColumn, string>>>;
  /** Put the contacts in the body after the command lines, when they fit in `BODY_CONTACTS_MAX` bytes. */
  readonly contactsInBody?: boolean;
}

/** Most bytes of contact lines put in the body (the guide allows contacts in the body; larger go as an attachment). */
export const BODY_CONTACTS_MAX = 8 * 1024;

export interface PreparedEmailTrigger {
  readonly ok: boolean;
  readonly findings: Finding[];
  readonly command?: TriggerCommand;
  readonly subject: string;
  readonly body: string;
  readonly attachments: { filename: string; content: Buffer; contentType?: string }[];
  readonly contacts: number;
}

export async function prepareEmailTrigger(input: EmailTriggerInput): Promise<PreparedEmailTrigger> {
  // Whoever opens a stream closes it: the contacts may stop early (over 10 MiB, a refused export).
  const closers: (() => Promise<void>)[] = [];
  try {
    return await prepare(input, closers);
  } finally {
    for (const close of closers) await close();
  }
}

async function prepare(input: EmailTriggerInput, closers: (() => Promise<void>)[]): Promise<PreparedEmailTrigger> {
  const findings = new FindingList(100);
  let command: TriggerCommand;
  let columns: ContactColumn[] = [];
  let rows: AsyncIterable<SourcedRow> | undefined;
  const isCommandFile = /\.(ya?ml|json)$/i.test(input.source);
  if (isCommandFile) {
    try {
      command = parseCommandFile(await readFile(input.source, 'utf8'), input.source);
    } catch (e) {
      if (e instanceof TriggerFormatError) return { ok: false, findings: [...e.findings], subject: '', body: '', attachments: [], contacts: 0 };
      throw e;
    }
    if (input.contacts) {
      const stream = createReadStream(input.contacts);
      closers.push(() => closeStream(stream));
      const exp = await readSiExport(stream, findings, { name: input.contacts, ...(input.map ? { map: input.map } : {}) });
      columns = exp.columns;
      rows = exp.rows;
    }
  } else {
    const reading = await openTriggerFile(input.source, findings);
    closers.push(() => reading.close());
    command = reading.head.command;
    columns = reading.head.columns;
    const contacts = reading.contacts;
    rows = (async function* () {
      for await (const c of contacts) yield { values: c.values, line: c.line };
    })();
    if (input.contacts) findings.add(finding('E_EXPORT', '--contacts goes with a command file: a trigger file carries its own contacts'));
  }
  const encoder = new TriggerEncoder(command, columns, { format: 'csv', encoding: 'iso-8859-15', channel: 'email' }, findings);
  const attachments: PreparedEmailTrigger['attachments'] = [];
  let count = 0;
  let bodyContacts: string | undefined;
  if (rows) {
    const stats: EncodeStats = { contacts: 0, bytes: 0 };
    const parts: Buffer[] = [encodeLatin9(`${encoder.columns.join(';')}\r\n`)];
    let size = 0;
    for await (const b of encoder.rows(rows, stats)) {
      size += b.length;
      if (size > MAX_ATTACHMENT_BYTES) {
        findings.add(
          finding('E_TOO_MANY_CONTACTS', `the contacts exceed ${MAX_ATTACHMENT_BYTES / 1048576} MiB for one email: send them by (S)FTP (dmc-trigger send)`),
        );
        break;
      }
      parts.push(b);
    }
    count = stats.contacts;
    // CRLF throughout, as the header: CSV (RFC 4180) and MIME text (RFC 2046) both end lines so. The bytes
    // are ISO-8859-15; a latin1 string holds them one to one for the line-end rewrite.
    const csv = Buffer.from(Buffer.concat(parts).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    // In the body the contacts are text: decoded as what they are (ISO-8859-15: € is 0xA4, not Latin-1's ¤).
    if (count > 0 && input.contactsInBody && csv.length <= BODY_CONTACTS_MAX) bodyContacts = iconv.decode(csv, 'iso-8859-15');
    else if (count > 0) attachments.push({ filename: 'contacts.csv', content: csv, contentType: 'text/csv; charset=ISO-8859-15' });
    if (count > 0 && input.contactsInBody && !bodyContacts)
      findings.add(finding('W_REPLACED_CHAR', `the contacts take more than ${BODY_CONTACTS_MAX} bytes: sent as an attachment rather than in the body`));
  }
  encoder.finish(count);
  const body = emailTriggerBody(encoder.command);
  findings.addAll(body.findings);
  // The guide lets contact lines follow the command lines in the body (§3.3): a blank line between them.
  const text = bodyContacts ? `${body.body}\r\n${bodyContacts}` : body.body;

  const given = new Map((input.documents ?? []).map((d) => [basename(d), d]));
  for (const [name, path] of given) {
    const ext = extname(name).slice(1).toLowerCase();
    if (!(MAIL_DOCUMENT_EXTENSIONS as readonly string[]).includes(ext)) {
      findings.add(
        finding('E_DOCUMENT_TYPE', `${name}: an email trigger takes documents of type ${MAIL_DOCUMENT_EXTENSIONS.join(', ')} (guide lines 10050-10057)`, {
          field: 'document',
        }),
      );
      continue;
    }
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) {
      findings.add(finding('E_DOCUMENT_MISSING', `${path}: no such file`, { field: 'document' }));
      continue;
    }
    const content = await readFile(path);
    if (ext === 'wav') {
      const w = wavFormat(content.subarray(0, 4096));
      if (!w.ok || !(ALLOWED_WAV as readonly string[]).includes(w.format))
        findings.add(finding('E_WAV_FORMAT', `${name} is ${w.ok ? w.format : w.reason}; the platform plays ${ALLOWED_WAV.join(', ')}`, { field: 'document' }));
    }
    attachments.push({ filename: name, content });
  }
  for (const ref of referencedDocuments(encoder.command)) {
    if (!given.has(ref.name))
      findings.add(finding('E_DOCUMENT_MISSING', `${ref.field} names ${ref.name}, which is not attached: add --document ${ref.name}`, { field: ref.field }));
  }
  return {
    ok: !findings.hasErrors,
    findings: findings.list(),
    command: encoder.command,
    subject: encoder.command.broadcastName,
    body: text,
    attachments,
    contacts: count,
  };
}
