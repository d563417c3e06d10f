/**
 * Rules on the contacts part, checked row by row as contacts stream by
 * (guide §3.2.4.2.2 lines 9134-9165, annex 5.3 lines 10861-10914): the
 * header holds an address column, each contact an address, sizes, phone
 * numbers, country codes, email syntax, and the 100,000 limit.
 */
import { ADDRESS_COLUMNS, COLUMNS, MAX_CONTACTS, OS_VALUES, PHONE_IGNORED, type ColumnSpec, type ContactColumn } from '../contacts.js';
import { finding, type Finding, type FindingList } from '../findings.js';
import type { SmsLengthRule } from './sms-length.js';

const PHONE = /^\+?\d{3,}$/;
const PLAIN_PHONE = /^\+?\d{3,15}$/;
const COUNTRY = /^\d{1,3}$/;
// Deliberately simple: one @, no spaces, a dot in the domain. The platform does its own checks.
const EMAIL = /^[^\s@;<>"]+@[^\s@;<>"]+\.[^\s@;<>".]+$/;

const SPECS = new Map<string, ColumnSpec>(COLUMNS.map((c) => [c.name, c]));

/** Checks the header line of a contacts part. */
export function checkHeader(columns: readonly string[], line?: number): Finding[] {
  const out: Finding[] = [];
  if (!columns.some((c) => (ADDRESS_COLUMNS as readonly string[]).includes(c))) {
    out.push(
      finding(
        'E_NO_ADDRESS_COLUMN',
        `the header (${columns.join(';') || 'empty'}) has none of PHONENUMBER1, FAXNUMBER, EMAIL1: the platform does not recognise it without one (annex 5.3, line 10884)`,
        { line },
      ),
    );
  }
  // A country code belongs to a number (annex 5.3: COUNTRYCODEn is the code of PHONENUMBERn; FAXCOUNTRYCODE of FAXNUMBER, line 9326).
  for (const c of columns) {
    const m = /^COUNTRYCODE(\d)$/.exec(c);
    const owner = m ? `PHONENUMBER${m[1]}` : c === 'FAXCOUNTRYCODE' ? 'FAXNUMBER' : undefined;
    if (owner && !columns.includes(owner)) {
      const hint =
        m && columns.includes('FAXNUMBER') && !columns.includes('FAXCOUNTRYCODE')
          ? ': for the fax number, name it FAXCOUNTRYCODE (guide line 9326)'
          : `: add ${owner}, or remove ${c}`;
      out.push(finding('W_ORPHAN_COLUMN', `${c} without ${owner} has no number to apply to${hint}`, { line, field: c }));
    }
  }
  return out;
}

/**
 * Checks contacts one at a time. `check` is on the hot path of build and
 * validate: per field, one length test, and one regex only for address
 * columns.
 */
export class ContactChecker {
  private specs: (ColumnSpec | undefined)[] = [];
  private addressIdx: number[] = [];
  private width = -1;
  private count = 0;

  /** `columns` may grow while contacts stream (XML contacts can add elements); the checker follows. */
  constructor(
    private readonly columns: readonly string[],
    private readonly findings: FindingList,
    private readonly maxContacts = MAX_CONTACTS,
    /** Each contact's SMS length (its fields filled in), when the command has SMS texts. */
    private readonly sms?: SmsLengthRule,
  ) {
    this.refresh();
  }

  private refresh(): void {
    this.width = this.columns.length;
    this.specs = this.columns.map((c) => SPECS.get(c));
    this.addressIdx = this.columns.flatMap((c, i) => (/^(PHONENUMBER\d|FAXNUMBER|EMAIL1)$/.test(c) ? [i] : []));
  }

  get contacts(): number {
    return this.count;
  }

  /** The last contact checked is left out (partial acceptance): it does not count. */
  uncount(): void {
    this.count--;
  }

  /** Checks one contact; `line` is where it is in its source (file line or export line). */
  check(values: readonly string[], line: number | undefined): void {
    this.count++;
    if (this.width !== this.columns.length) this.refresh();
    if (this.count === this.maxContacts + 1) {
      this.findings.add(
        finding(
          'E_TOO_MANY_CONTACTS',
          `more than ${this.maxContacts.toLocaleString('en')} contacts: the platform moves such a file to failed/ unread; split it (build --split)`,
          { line },
        ),
      );
    }
    let hasAddress = false;
    for (const i of this.addressIdx) {
      const v = values[i];
      if (v !== undefined && v.trim() !== '') {
        hasAddress = true;
        break;
      }
    }
    if (!hasAddress && this.addressIdx.length > 0) {
      this.findings.add(finding('E_NO_ADDRESS', 'this contact has no phone number, fax number or email: give one, or remove the contact', { line }));
    }
    this.sms?.check(values, line);
    const n = Math.min(values.length, this.specs.length);
    for (let i = 0; i < n; i++) {
      const spec = this.specs[i];
      const v = values[i]!;
      if (!spec || v === '') continue;
      if (spec.kind === 'text') {
        if (v.length > spec.max)
          this.findings.add(
            finding('E_TOO_LONG', `${spec.name} is ${v.length} characters; the platform allows ${spec.max}: shorten it`, { line, field: spec.name }),
          );
        continue;
      }
      this.checkAddress(spec, v, line);
    }
  }

  private checkAddress(spec: ColumnSpec, v: string, line: number | undefined): void {
    // Fast path, no allocation: a plain phone number or country code as most exports hold them.
    if (spec.kind === 'phone' ? PLAIN_PHONE.test(v) : spec.kind === 'countryCode' ? COUNTRY.test(v) : false) return;
    const t = v.trim();
    if (t !== v) this.findings.add(finding('W_WHITESPACE', `${spec.name} '${v}' has spaces around it; read as '${t}'`, { line, field: spec.name }));
    if (t === '') return;
    switch (spec.kind) {
      case 'phone': {
        // The platform drops / \\ . ( ) and spaces and keeps the rest (annex 5.3, line 10891): the limit applies to what it keeps.
        const kept = t.replace(PHONE_IGNORED, '');
        if (!PHONE.test(kept)) {
          this.findings.add(
            finding(
              'E_PHONE',
              `${spec.name} '${v}' is not a phone number: digits, optionally a leading + (spaces . / \\ ( ) are ignored), e.g. 0612345678 or +33612345678`,
              { line, field: spec.name },
            ),
          );
        } else if (kept.length > spec.max) {
          this.findings.add(
            finding('E_TOO_LONG', `${spec.name} '${v}' has ${kept.length} characters once spaces and . / \\ ( ) are dropped; the platform allows ${spec.max}`, {
              line,
              field: spec.name,
            }),
          );
        }
        break;
      }
      case 'countryCode':
        // 1 to 3 digits, so the size rule (3) is part of the pattern.
        if (!COUNTRY.test(t))
          this.findings.add(finding('E_COUNTRY_CODE', `${spec.name} '${v}' must be 1 to 3 digits without '+', e.g. 33`, { line, field: spec.name }));
        break;
      case 'email':
        if (t.length > spec.max)
          this.findings.add(finding('E_TOO_LONG', `${spec.name} is ${t.length} characters; the platform allows ${spec.max}`, { line, field: spec.name }));
        else if (!EMAIL.test(t))
          this.findings.add(finding('E_EMAIL', `${spec.name} '${v}' is not an email address (name@domain.tld)`, { line, field: spec.name }));
        break;
      case 'os':
        if (!OS_LOWER.has(t.toLowerCase()))
          this.findings.add(finding('E_ENUM', `${spec.name} '${v}' is not one of ${OS_VALUES.join(', ')} (guide line 9157)`, { line, field: spec.name }));
        break;
      default:
        break;
    }
  }
}

const OS_LOWER = new Set(OS_VALUES.map((o) => o.toLowerCase()));

export type { ContactColumn };
