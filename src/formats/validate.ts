/**
 * Validates a trigger as it is read: the readers' findings (structure,
 * errata, order), the command rules, and the contact rules, streaming.
 */
import { checkCommand } from './rules/command-rules.js';
import { ContactChecker, checkHeader } from './rules/contact-rules.js';
import { SmsLengthRule } from './rules/sms-length.js';
import { finding, FindingList, type Finding, type FindingCode } from './findings.js';
import { shapeOf, type TriggerCommand, type TriggerHead } from './model.js';
import type { TriggerReading } from './csv-reader.js';

/** Reader findings after which the rules are not run: the file is not a trigger. */
const FATAL = new Set<FindingCode>(['E_EMPTY_FILE', 'E_NO_COMMAND_MARKER', 'E_XML_MALFORMED']);

export interface ValidationReport {
  readonly valid: boolean;
  readonly format: 'csv' | 'xml';
  readonly encoding: string;
  readonly contacts: number;
  readonly command: TriggerCommand;
  readonly errors: Finding[];
  readonly warnings: Finding[];
}

/** Rules about the presence of contacts, once all are counted. */
export function checkContactsPresence(command: TriggerCommand, hasContactsPart: boolean, count: number): Finding[] {
  if (shapeOf(command) === 'favourite' || (command.contactListId?.length ?? 0) > 0) return [];
  if (count > 0) return [];
  return [
    finding(
      'E_NO_CONTACTS',
      hasContactsPart
        ? 'the trigger has no contacts and no contactListId: add contacts after the header, or name a contact list'
        : 'the trigger has no contacts part and no contactListId: add #CONTACTS, a header and contacts, or name a contact list',
    ),
  ];
}

/** Runs every rule over a reading; consumes its contacts. */
export async function validateReading(reading: TriggerReading, findings: FindingList, opts: { channel?: 'file' | 'email' } = {}): Promise<ValidationReport> {
  const head: TriggerHead = reading.head;
  let checker: ContactChecker | undefined;
  let sms: SmsLengthRule | undefined;
  let headerChecked = false;
  let headChecked = false;
  const checkHead = (): void => {
    if (headChecked) return;
    headChecked = true;
    if (head.hasContactsPart && head.format === 'csv') {
      findings.addAll(checkHeader(head.columns, head.headerLine));
      headerChecked = true;
    }
  };
  checkHead();
  for await (const c of reading.contacts) {
    if (!checker) {
      if (!headerChecked) {
        findings.addAll(checkHeader(head.columns, c.line));
        headerChecked = true;
      }
      sms = SmsLengthRule.of(head.command, head.columns, findings);
      checker = new ContactChecker(head.columns, findings, undefined, sms);
    }
    checker.check(c.values, c.line);
  }
  const count = checker?.contacts ?? 0;
  // A file that is not a trigger at all gets that one finding, not a list of every rule it misses.
  if (!findings.items.some((f) => FATAL.has(f.code))) {
    const ctx = { columns: head.columns, lines: head.lines, channel: opts.channel ?? 'file' };
    findings.addAll(checkCommand(head.command, ctx));
    findings.addAll(checkContactsPresence(head.command, head.hasContactsPart, count));
    // Without contacts (a contact list), the text alone is measured.
    (sms ?? SmsLengthRule.of(head.command, head.columns, findings))?.finish();
  }
  const all = findings.list();
  return {
    valid: !findings.hasErrors,
    format: head.format,
    encoding: head.encoding,
    contacts: count,
    command: head.command,
    errors: all.filter((f) => f.severity === 'error'),
    warnings: all.filter((f) => f.severity === 'warning'),
  };
}

export { FindingList };
