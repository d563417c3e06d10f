/**
 * The contact columns of a trigger file, as one table.
 *
 * Source: DMC developer guide v1.7, §3.2.4.2.2 lines 9134-9165 and annex 5.3
 * lines 10872-10914 (which adds APP). XML element names are the camelCase of
 * the CSV names, except EMAIL1, which every XML example of the guide writes
 * `<email>` (TRIGGER-PROTOCOLS.md §1.2).
 */

export type ContactColumn =
  | 'NAME'
  | 'FORENAME'
  | 'PHONENUMBER1'
  | 'COUNTRYCODE1'
  | 'PHONENUMBER2'
  | 'COUNTRYCODE2'
  | 'PHONENUMBER3'
  | 'COUNTRYCODE3'
  | 'PHONENUMBER4'
  | 'COUNTRYCODE4'
  | 'PHONENUMBER5'
  | 'COUNTRYCODE5'
  | 'PHONENUMBER6'
  | 'COUNTRYCODE6'
  | 'FAXNUMBER'
  | 'FAXCOUNTRYCODE'
  | 'EMAIL1'
  | 'TOKEN'
  | 'OS'
  | 'APP'
  | 'EXTERNALREFERENCE'
  | 'INFO1'
  | 'INFO2'
  | 'INFO3'
  | 'INFO4';

export type ColumnKind = 'text' | 'phone' | 'countryCode' | 'email' | 'os';

/** The values of OS (guide line 9157: android, iOS, windows), case aside. */
export const OS_VALUES = ['android', 'iOS', 'windows'] as const;

export interface ColumnSpec {
  readonly name: ContactColumn;
  readonly xml: string;
  readonly max: number;
  readonly kind: ColumnKind;
  /** Other XML element names read with a warning. */
  readonly xmlErrata?: readonly string[];
  readonly guideLine: number;
  readonly doc: string;
}

const phone = (n: number, line: number): ColumnSpec[] => [
  { name: `PHONENUMBER${n}` as ContactColumn, xml: `phoneNumber${n}`, max: 15, kind: 'phone', guideLine: line, doc: `Phone number ${n}` },
  { name: `COUNTRYCODE${n}` as ContactColumn, xml: `countryCode${n}`, max: 3, kind: 'countryCode', guideLine: line + 1, doc: `Country code of phone ${n}` },
];

/** The columns in the order of annex 5.3. */
export const COLUMNS: readonly ColumnSpec[] = [
  { name: 'NAME', xml: 'name', max: 255, kind: 'text', guideLine: 10889, doc: 'Name (or company name)' },
  { name: 'FORENAME', xml: 'forename', max: 255, kind: 'text', guideLine: 10890, doc: 'Forename' },
  ...phone(1, 10891),
  ...phone(2, 10893),
  ...phone(3, 10895),
  ...phone(4, 10897),
  ...phone(5, 10899),
  ...phone(6, 10901),
  { name: 'FAXNUMBER', xml: 'faxNumber', max: 15, kind: 'phone', guideLine: 10904, doc: 'Fax number' },
  { name: 'FAXCOUNTRYCODE', xml: 'faxCountryCode', max: 3, kind: 'countryCode', guideLine: 10905, doc: 'Country code of the fax' },
  { name: 'EMAIL1', xml: 'email', max: 255, kind: 'email', xmlErrata: ['email1'], guideLine: 10906, doc: 'Email address' },
  { name: 'TOKEN', xml: 'token', max: 255, kind: 'text', guideLine: 10907, doc: 'Push token' },
  { name: 'OS', xml: 'os', max: 255, kind: 'os', guideLine: 10908, doc: 'OS of the token (android, iOS, windows)' },
  { name: 'APP', xml: 'app', max: 255, kind: 'text', guideLine: 10909, doc: 'Application of the token' },
  { name: 'EXTERNALREFERENCE', xml: 'externalReference', max: 255, kind: 'text', guideLine: 10910, doc: 'Free reference, usually the SI identifier' },
  { name: 'INFO1', xml: 'info1', max: 4000, kind: 'text', guideLine: 10911, doc: 'Dynamic field |contact.info1|' },
  { name: 'INFO2', xml: 'info2', max: 255, kind: 'text', guideLine: 10912, doc: 'Dynamic field |contact.info2|' },
  { name: 'INFO3', xml: 'info3', max: 255, kind: 'text', guideLine: 10913, doc: 'Dynamic field |contact.info3|' },
  { name: 'INFO4', xml: 'info4', max: 255, kind: 'text', guideLine: 10914, doc: 'Dynamic field |contact.info4|' },
];

/** A header must hold one of these to be recognised (annex 5.3, line 10884). */
export const ADDRESS_COLUMNS: readonly ContactColumn[] = ['PHONENUMBER1', 'FAXNUMBER', 'EMAIL1'];

/** Most contacts in one trigger file (guide §3.2.1, TRIGGER-PROTOCOLS.md §1 rule 4). */
export const MAX_CONTACTS = 100_000;

const BY_NAME = new Map<string, ColumnSpec>(COLUMNS.map((c) => [c.name, c]));
const BY_XML = new Map<string, ColumnSpec>(COLUMNS.map((c) => [c.xml, c]));
const BY_XML_ERRATUM = new Map<string, ColumnSpec>();
for (const c of COLUMNS) for (const e of c.xmlErrata ?? []) BY_XML_ERRATUM.set(e, c);

export function columnSpec(name: ContactColumn): ColumnSpec {
  const spec = BY_NAME.get(name);
  if (!spec) throw new Error(`no such column: ${name}`);
  return spec;
}

/** Recognises a CSV header name; `how` says whether only the case differed. */
export function lookupColumn(raw: string): { spec: ColumnSpec; how: 'canonical' | 'case' } | undefined {
  const exact = BY_NAME.get(raw);
  if (exact) return { spec: exact, how: 'canonical' };
  const upper = BY_NAME.get(raw.toUpperCase());
  return upper ? { spec: upper, how: 'case' } : undefined;
}

/** Recognises an XML contact element name. */
export function lookupXmlColumn(raw: string): { spec: ColumnSpec; how: 'canonical' | 'erratum' | 'case' } | undefined {
  const exact = BY_XML.get(raw);
  if (exact) return { spec: exact, how: 'canonical' };
  const erratum = BY_XML_ERRATUM.get(raw) ?? BY_XML_ERRATUM.get(raw.toLowerCase());
  if (erratum) return { spec: erratum, how: 'erratum' };
  for (const c of COLUMNS) if (c.xml.toLowerCase() === raw.toLowerCase()) return { spec: c, how: 'case' };
  return undefined;
}

/** Characters the platform ignores in phone and fax numbers (annex 5.3, line 10891). */
export const PHONE_IGNORED = /[/\\.() ]/g;
