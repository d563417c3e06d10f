/** Helpers to write and read triggers in memory in tests. */
import iconv from 'iconv-lite';
import { FindingList, type Finding } from '../../src/formats/findings.js';
import { readCsvTrigger, type TriggerReading } from '../../src/formats/csv-reader.js';
import { readXmlTrigger } from '../../src/formats/xml-reader.js';
import { encodeTrigger, type EncodeOptions, type SourcedRow } from '../../src/formats/trigger-encoder.js';
import { validateReading, type ValidationReport } from '../../src/formats/validate.js';
import type { ContactColumn } from '../../src/formats/contacts.js';
import type { TriggerCommand } from '../../src/formats/model.js';

export const SMS: TriggerCommand = {
  serviceId: '12345678',
  spaceId: '123',
  broadcastName: 'Envoi SMS',
  scenarioId: '40',
  startDate: '2027-01-15 09:00:00',
  stopDate: '2027-01-16 20:00:00',
  callPlanningId: '41',
  priority: '2',
  messages: [{ customizableId: '10', multimediaType: 'TXT', text: 'Bonjour' }],
};

export const COLS: ContactColumn[] = ['NAME', 'FORENAME', 'PHONENUMBER1', 'COUNTRYCODE1', 'EXTERNALREFERENCE'];

export async function encode(
  command: TriggerCommand,
  columns: readonly ContactColumn[],
  rows: (string[] | SourcedRow)[],
  opts: EncodeOptions = {},
): Promise<{ bytes: Buffer; findings: Finding[]; errors: number }> {
  const list = new FindingList(1000);
  const chunks: Buffer[] = [];
  const src = rows.map((r) => (Array.isArray(r) ? { values: r } : r));
  for await (const c of encodeTrigger({ command, columns, rows: src, findings: list, ...opts })) chunks.push(c);
  return { bytes: Buffer.concat(chunks), findings: list.list(), errors: list.errors };
}

export async function read(
  bytes: Buffer | string,
  format: 'csv' | 'xml' = 'csv',
  encoding = 'iso-8859-15',
): Promise<{ reading: TriggerReading; findings: FindingList }> {
  const buf = typeof bytes === 'string' ? iconv.encode(bytes, encoding) : bytes;
  const findings = new FindingList(1000);
  const reading = format === 'xml' ? await readXmlTrigger([buf], findings) : await readCsvTrigger([buf], findings);
  return { reading, findings };
}

export async function validate(bytes: Buffer | string, format: 'csv' | 'xml' = 'csv', encoding = 'iso-8859-15'): Promise<ValidationReport> {
  const { reading, findings } = await read(bytes, format, encoding);
  return validateReading(reading, findings);
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The codes of a report's findings, errors then warnings. */
export function codes(r: { errors: readonly Finding[]; warnings: readonly Finding[] }): string[] {
  return [...r.errors, ...r.warnings].map((f) => f.code);
}

/** A CSV trigger as text, from command lines and contact lines. */
export function csvText(command: string[], contacts?: string[]): string {
  return ['#COMMAND', ...command, ...(contacts ? ['#CONTACTS', ...contacts, '#END'] : [])].join('\n') + '\n';
}

export const SMS_LINES = [
  'serviceId:12345678',
  'spaceId:123',
  'broadcastName:Envoi SMS',
  'scenarioId:40',
  'startDate:2027-01-15 09:00:00',
  'stopDate:2027-01-16 20:00:00',
  'callPlanningId:41',
  'priority:2',
  'customizableId:10',
  'multimediaType:TXT',
  'text:Bonjour',
];
export const SMS_CONTACTS = ['NAME;FORENAME;PHONENUMBER1;COUNTRYCODE1', 'Dupont;Pierre;0612345678;33'];
