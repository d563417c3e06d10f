/**
 * Findings (what a reader or the validator has to say about a trigger) and
 * the format layer's error class. Errors are data: a code from a union type,
 * a severity, and where (file, line, field), with a message that says what
 * to change.
 */

export type Severity = 'error' | 'warning';

/** Every code a finding of the format layer can carry. docs/formats.md lists them. */
export type FindingCode =
  // structure
  | 'E_EMPTY_FILE'
  | 'E_NO_COMMAND_MARKER'
  | 'E_BAD_COMMAND_LINE'
  | 'E_NO_END_MARKER'
  | 'W_AFTER_END'
  | 'W_BLANK_LINE'
  | 'E_XML_MALFORMED'
  | 'E_XML_STRUCTURE'
  | 'W_XML_ERRATUM'
  | 'W_NO_XML_DECLARATION'
  | 'W_UNDECLARED_UTF8'
  | 'E_UNKNOWN_ENCODING'
  | 'E_DECODE'
  // parameters
  | 'E_UNKNOWN_PARAM'
  | 'W_PARAM_ERRATUM'
  | 'W_VALUE_ERRATUM'
  | 'E_DUPLICATE_PARAM'
  | 'E_PARAM_ORDER'
  | 'W_BLOCK_ORDER'
  | 'E_REQUIRED'
  | 'E_SHAPE'
  | 'E_TYPE'
  | 'E_TOO_LONG'
  | 'E_ENUM'
  | 'E_DATE'
  | 'E_DATE_ORDER'
  | 'E_BLOCK'
  | 'E_ATTACHMENTS'
  | 'E_QUOTA'
  | 'E_DYNAMIC_FIELD'
  | 'E_DYNAMIC_COLUMN'
  | 'W_DYNAMIC_COLUMN'
  | 'E_NO_CONTACTS'
  // contacts
  | 'E_NO_HEADER'
  | 'E_UNKNOWN_COLUMN'
  | 'W_COLUMN_CASE'
  | 'E_DUPLICATE_COLUMN'
  | 'E_NO_ADDRESS_COLUMN'
  | 'E_FIELD_COUNT'
  | 'E_NO_ADDRESS'
  | 'E_PHONE'
  | 'E_COUNTRY_CODE'
  | 'E_EMAIL'
  | 'W_WHITESPACE'
  | 'E_TOO_MANY_CONTACTS'
  // values and encoding
  | 'E_FORBIDDEN_CHAR'
  | 'W_REPLACED_CHAR'
  | 'E_UNENCODABLE'
  | 'W_TRANSLITERATED'
  // documents
  | 'E_DOCUMENT_MISSING'
  | 'E_DOCUMENT_TYPE'
  | 'E_WAV_FORMAT'
  // inputs (SI exports, command files)
  | 'E_COMMAND_FILE'
  | 'E_EXPORT'
  | 'W_UNMAPPED_COLUMN'
  | 'E_MAPPING'
  | 'W_FINDINGS_CAPPED';

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** 1-based line in the file the finding is about, when known. */
  readonly line?: number;
  /** Parameter name or contact column (canonical), when the finding is about one. */
  readonly field?: string;
  readonly message: string;
}

export function severityOf(code: FindingCode): Severity {
  return code.startsWith('W_') ? 'warning' : 'error';
}

export function finding(code: FindingCode, message: string, where: { line?: number | undefined; field?: string | undefined } = {}): Finding {
  const f: { -readonly [K in keyof Finding]: Finding[K] } = { code, severity: severityOf(code), message };
  if (where.line !== undefined) f.line = where.line;
  if (where.field !== undefined) f.field = where.field;
  return f;
}

/**
 * Collects findings with a cap per severity, so a file with a million bad
 * rows reports the first ones and a count, not a million lines.
 */
export class FindingList {
  readonly items: Finding[] = [];
  private errorCount = 0;
  private warningCount = 0;
  private droppedErrors = 0;
  private droppedWarnings = 0;

  constructor(readonly cap = 100) {}

  add(f: Finding): void {
    if (f.severity === 'error') {
      this.errorCount++;
      if (this.errorCount > this.cap) { this.droppedErrors++; return; }
    } else {
      this.warningCount++;
      if (this.warningCount > this.cap) { this.droppedWarnings++; return; }
    }
    this.items.push(f);
  }

  addAll(fs: Iterable<Finding>): void {
    for (const f of fs) this.add(f);
  }

  get errors(): number { return this.errorCount; }
  get warnings(): number { return this.warningCount; }
  get hasErrors(): boolean { return this.errorCount > 0; }

  /** The findings, with one closing note per severity that was capped. */
  list(): Finding[] {
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
