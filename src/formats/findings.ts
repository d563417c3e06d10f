/**
 * Findings (what a reader or the validator has to say about a trigger) and
 * the format layer's error class. Errors are data: a code from a union type,
 * a severity, and where (file, line, field), with a message that says what
 * to change.
 */

export type Severity = 'error' | 'warning';

/**
 * Every code a finding of the format layer can carry, with what it means.
 * `E_` codes are errors (the file is refused), `W_` codes warnings. This
 * table is the reference in docs/formats.md.
 */
export const FINDING_CODES = {
  E_EMPTY_FILE: 'the file is empty',
  E_NO_COMMAND_MARKER: 'a CSV trigger does not start with #COMMAND',
  E_BAD_COMMAND_LINE: 'a command line is not <name>:<value>',
  E_NO_END_MARKER: 'the contacts part does not end with #END (truncated file?)',
  W_AFTER_END: 'text after #END (ignored by the platform)',
  W_BLANK_LINE: 'a blank line (ignored)',
  E_XML_MALFORMED: 'the XML is not well-formed',
  E_XML_DOCTYPE: "a DOCTYPE in an XML trigger (the guide's XML has none; entities and external DTDs are never read)",
  E_LINE_TOO_LONG: 'a line, or an XML text between two tags, longer than the readers take (1 MiB by default)',
  E_XML_STRUCTURE: 'an element where the trigger structure does not allow it',
  W_XML_ERRATUM: 'an XML erratum of the guide, read leniently',
  W_NO_XML_DECLARATION: 'no XML declaration: the encoding was guessed',
  W_UNDECLARED_UTF8: 'a CSV trigger that declares no encoding but is UTF-8',
  E_UNKNOWN_ENCODING: 'a declared encoding this tool does not know',
  E_DECODE: 'bytes that are not valid in the declared encoding',
  E_UNKNOWN_PARAM: 'a parameter name the guide does not define',
  W_PARAM_ERRATUM: 'a misspelled parameter name from the guide, read as the canonical one',
  W_VALUE_ERRATUM: 'a value in an erratum form of the guide (spaces, TEXT), read canonically',
  E_DUPLICATE_PARAM: 'a non-repeatable parameter given twice',
  E_PARAM_ORDER: 'a top-level parameter out of the documented order',
  W_BLOCK_ORDER: 'a message-block parameter out of the documented order',
  E_REQUIRED: 'a required parameter is missing',
  E_SHAPE: 'parameters of the full shape mixed with a favourite (oneTouchId)',
  E_TYPE: 'a value of the wrong type (number, 0/1)',
  E_TOO_LONG: 'a value longer than the guide allows',
  E_TOO_MANY_REJECTED: 'with partial acceptance, more rows rejected than the threshold allows: the whole export is refused',
  W_ROW_REJECTED: 'with partial acceptance, a row left out (written to the rejected-rows file) and why',
  E_SMS_TOO_LONG: 'an SMS text over 160 characters (fields filled in) without smsLong: the platform rejects every contact',
  W_SMS_PARTS: 'with smsLong: how many parts the longest SMS takes',
  E_ENUM: 'a value outside the allowed list',
  E_DATE: 'a date that is not YYYY-MM-DD HH:mm:ss or not a real date',
  E_DATE_ORDER: 'stopDate is not after startDate',
  E_BLOCK: 'a message block that breaks a block rule',
  W_MEDIUM_PARAM: "a block option for another medium than the block's (smsFlash on a fax, fileAttachment on an SMS...)",
  E_ATTACHMENTS: 'more than 2 attachments in one email block',
  E_QUOTA: 'quota without quotaResult',
  E_DYNAMIC_FIELD: 'an unknown dynamic field, or the wrong date field for the channel',
  E_DYNAMIC_COLUMN: 'a |contact.infoN| field without the INFON column',
  W_DYNAMIC_COLUMN: 'a |contact.nom| or |contact.prenom| field without the NAME or FORENAME column',
  E_NO_CONTACTS: 'a full trigger with neither contacts nor contactListId',
  E_NO_HEADER: 'a contacts part without its header line',
  E_UNKNOWN_COLUMN: 'a contact column the guide does not define',
  W_COLUMN_CASE: 'a contact column in the wrong case',
  E_DUPLICATE_COLUMN: 'a contact column given twice',
  W_ORPHAN_COLUMN: 'a country-code column without the number it belongs to (COUNTRYCODEn without PHONENUMBERn, FAXCOUNTRYCODE without FAXNUMBER)',
  E_NO_ADDRESS_COLUMN: 'a header with none of PHONENUMBER1, FAXNUMBER, EMAIL1',
  E_FIELD_COUNT: 'a contact with more or fewer fields than the header',
  E_NO_ADDRESS: 'a contact with no phone, fax or email',
  E_PHONE: 'a phone or fax number that is not one',
  E_COUNTRY_CODE: 'a country code that is not 1 to 3 digits',
  E_EMAIL: 'an email address that is not one',
  W_WHITESPACE: 'spaces around a value (removed or kept as said)',
  E_TOO_MANY_CONTACTS: 'more than 100,000 contacts in one file',
  E_FORBIDDEN_CHAR: "a value holding ';' (contacts), CR, LF or a control character",
  W_REPLACED_CHAR: 'a forbidden character replaced, as asked',
  E_UNENCODABLE: 'a character ISO-8859-15 cannot hold',
  W_TRANSLITERATED: 'typographic punctuation written as its ASCII look-alike',
  E_DOCUMENT_MISSING: 'a document named by the trigger is not in the documents folder',
  E_DOCUMENT_PATH: 'a document named with a path (a folder, .., an absolute path): a document name is a bare file name',
  E_DOCUMENT_TYPE: 'a document of a type the platform does not take',
  E_WAV_FORMAT: 'a WAV document in a format the platform does not play',
  E_COMMAND_FILE: 'a command file (YAML/JSON) that cannot be read',
  E_EXPORT: 'an SI export that cannot be read',
  W_UNMAPPED_COLUMN: 'an export column that maps to no DMC column (left out)',
  E_MAPPING: 'a column mapping that does not fit the export',
  W_FINDINGS_CAPPED: 'more findings than the cap; the rest are counted, not listed',
} as const;

export type FindingCode = keyof typeof FINDING_CODES;

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** 1-based line in the file the finding is about, when known. */
  readonly line?: number;
  /** Parameter name or contact column (canonical), when the finding is about one. */
  readonly field?: string;
  readonly message: string;
  /** With several inputs (a build reads a command file and an export): `export` when it is about the export. */
  readonly source?: 'export';
}

export function severityOf(code: FindingCode): Severity {
  return code.startsWith('W_') ? 'warning' : 'error';
}

export function finding(
  code: FindingCode,
  message: string,
  where: { line?: number | undefined; field?: string | undefined; source?: Finding['source'] } = {},
): Finding {
  const f: { -readonly [K in keyof Finding]: Finding[K] } = { code, severity: severityOf(code), message };
  if (where.line !== undefined) f.line = where.line;
  if (where.field !== undefined) f.field = where.field;
  if (where.source !== undefined) f.source = where.source;
  return f;
}

/**
 * Collects findings with a cap per severity, so a file with a million bad
 * rows reports the first ones and a count, not a million lines.
 */
/**
 * Findings that end the reading (a line past the cap: the rest of the input
 * is not read). What a list says after one of them (required fields
 * missing, no contacts) only follows from it: such a list shows these alone.
 */
const ENDS_READING: ReadonlySet<string> = new Set(['E_LINE_TOO_LONG']);

export class FindingList {
  readonly items: Finding[] = [];
  /** Findings of ENDS_READING: when there is one, the list is these. */
  private readonly ended: Finding[] = [];
  private errorCount = 0;
  private warningCount = 0;
  private droppedErrors = 0;
  private droppedWarnings = 0;

  /** While set, findings go here instead (one contact's, for partial acceptance). */
  private capture: Finding[] | undefined;

  constructor(readonly cap = 100) {}

  /** Runs `fn`, returning the findings it added instead of adding them (a row checked on its own). */
  captured(fn: () => void): Finding[] {
    const outer = this.capture;
    const mine: Finding[] = [];
    this.capture = mine;
    try {
      fn();
    } finally {
      this.capture = outer;
    }
    return mine;
  }

  add(f: Finding): void {
    if (this.capture) {
      this.capture.push(f);
      return;
    }
    if (ENDS_READING.has(f.code)) this.ended.push(f);
    if (f.severity === 'error') {
      this.errorCount++;
      if (this.errorCount > this.cap) {
        this.droppedErrors++;
        return;
      }
    } else {
      this.warningCount++;
      if (this.warningCount > this.cap) {
        this.droppedWarnings++;
        return;
      }
    }
    this.items.push(f);
  }

  /** A view that adds to this list, marking each finding as about `source`. */
  scoped(source: 'export'): FindingList {
    const view = Object.create(this) as FindingList;
    view.add = (f: Finding): void => {
      this.add({ ...f, source });
    };
    return view;
  }

  addAll(fs: Iterable<Finding>): void {
    for (const f of fs) this.add(f);
  }

  get errors(): number {
    return this.ended.length ? this.ended.filter((f) => f.severity === 'error').length : this.errorCount;
  }
  get warnings(): number {
    return this.ended.length ? this.ended.filter((f) => f.severity === 'warning').length : this.warningCount;
  }
  get hasErrors(): boolean {
    return this.errorCount > 0;
  }

  /** The findings, with one closing note per severity that was capped. */
  list(): Finding[] {
    if (this.ended.length) return [...this.ended];
    const out = [...this.items];
    if (this.droppedErrors > 0) out.push(finding('W_FINDINGS_CAPPED', `${this.droppedErrors} more error(s) not shown (first ${this.cap} listed)`));
    if (this.droppedWarnings > 0) out.push(finding('W_FINDINGS_CAPPED', `${this.droppedWarnings} more warning(s) not shown (first ${this.cap} listed)`));
    return out;
  }
}

/** Codes of TriggerFormatError: the format layer's failures as a whole. */
export type TriggerFormatErrorCode = 'INVALID_TRIGGER' | 'INVALID_INPUT' | 'INVALID_COMMAND_FILE' | 'IO';

/**
 * Thrown by the builders and readers when the input cannot give a valid
 * trigger. Carries every finding (capped) and the file it is about.
 */
export class TriggerFormatError extends Error {
  override readonly name = 'TriggerFormatError';
  constructor(
    readonly code: TriggerFormatErrorCode,
    message: string,
    readonly findings: readonly Finding[] = [],
    readonly file?: string,
  ) {
    super(message);
  }
}
