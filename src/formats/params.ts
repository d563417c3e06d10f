/**
 * The command parameters of a trigger file, as one table.
 *
 * Source: DMC developer guide v1.7, §3.2.4.2.1, lines 9062-9103 (the table),
 * 9105-9109 (repeatable lines), 9113-9126 (dynamic fields); errata from
 * TRIGGER-PROTOCOLS.md §1.3. The CSV writer's order, the XML element names,
 * the readers' aliases, the validator's type/size/enum/order rules and the
 * reference in docs/formats.md all read this table: a change of the guide is
 * a change of one row here.
 */

/** Where a parameter lives: the XML `<auth>`, the `<command>`, or a message block. */
export type ParamScope = 'auth' | 'command' | 'block' | 'declaration';

/** Value types of the guide's table. `flag` is the guide's `String (1)` 0/1 option. */
export type ParamType = 'string' | 'number' | 'date' | 'flag' | 'enum';

export interface ParamSpec {
  /** Canonical name, as written by the builders (CSV name and XML element). */
  readonly name: CommandParamName | BlockParamName;
  /** Position in the guide's table (1-based); the documented order. */
  readonly order: number;
  readonly scope: ParamScope;
  readonly type: ParamType;
  /** Maximum length in characters (String (n) in the guide). */
  readonly max?: number;
  /** Allowed values (canonical spelling) for `enum`. */
  readonly values?: readonly string[];
  /** May appear several times (in its scope). */
  readonly repeatable?: boolean;
  /** `always`, or a shape in which it is required; other cases are checked by rules. */
  readonly required?: 'always' | 'full' | 'favourite';
  /** Spellings met in the guide (errata), read with a warning. */
  readonly errata?: readonly string[];
  /** Line of the guide's table where the parameter is defined. */
  readonly guideLine: number;
  /** One-line description for docs and messages. */
  readonly doc: string;
}

/** Top-level command parameters (outside message blocks). */
export type CommandParamName =
  | 'encoding'
  | 'serviceId'
  | 'spaceId'
  | 'userLang'
  | 'broadcastName'
  | 'scenarioId'
  | 'startDate'
  | 'stopDate'
  | 'callPlanningId'
  | 'description'
  | 'maxSimultaneousContact'
  | 'priority'
  | 'quota'
  | 'quotaResult'
  | 'contactListId'
  | 'spreading'
  | 'oneTouchId';

/** Parameters of a message block (a customizable part). */
export type BlockParamName =
  | 'customizableId'
  | 'documentId'
  | 'multimediaType'
  | 'text'
  | 'ttsVoice'
  | 'fileName'
  | 'messageFrom'
  | 'messageSubject'
  | 'smsFlash'
  | 'smsLong'
  | 'smsUnicode'
  | 'fileAttachment'
  | 'documentAttachment';

export const MULTIMEDIA_TYPES = ['JPG', 'GIF', 'HTML', 'PDF', 'TTS', 'TXT', '3GP', 'WAV'] as const;
export type MultimediaType = (typeof MULTIMEDIA_TYPES)[number];

/** The table, in the guide's order. */
export const PARAMS: readonly ParamSpec[] = [
  {
    name: 'encoding',
    order: 1,
    scope: 'declaration',
    type: 'string',
    max: 15,
    guideLine: 9071,
    doc: 'Encoding of the file (UTF8, ISO8859-15...); in XML, the declaration',
  },
  {
    name: 'serviceId',
    order: 2,
    scope: 'auth',
    type: 'string',
    max: 15,
    required: 'always',
    errata: ['serviceld', 'servicId'],
    guideLine: 9072,
    doc: 'DMC service identifier',
  },
  { name: 'spaceId', order: 3, scope: 'auth', type: 'number', required: 'always', errata: ['spaceld'], guideLine: 9073, doc: 'DMC space identifier' },
  {
    name: 'userLang',
    order: 4,
    scope: 'command',
    type: 'enum',
    max: 15,
    values: ['Fr_fr', 'En_gb'],
    guideLine: 9074,
    doc: 'Language of the results: Fr_fr (default) or En_gb',
  },
  {
    name: 'broadcastName',
    order: 5,
    scope: 'command',
    type: 'string',
    max: 255,
    required: 'always',
    guideLine: 9075,
    doc: 'Broadcast name shown in the extranet',
  },
  {
    name: 'scenarioId',
    order: 6,
    scope: 'command',
    type: 'number',
    required: 'full',
    errata: ['scenariold', 'scenariId', 'scenarioid'],
    guideLine: 9076,
    doc: 'Broadcast scenario',
  },
  { name: 'startDate', order: 7, scope: 'command', type: 'date', guideLine: 9077, doc: 'Start, YYYY-MM-DD HH:mm:ss, Europe/Paris (default: now)' },
  { name: 'stopDate', order: 8, scope: 'command', type: 'date', guideLine: 9078, doc: 'Stop, YYYY-MM-DD HH:mm:ss (default: start + 2 days)' },
  { name: 'callPlanningId', order: 9, scope: 'command', type: 'number', required: 'full', guideLine: 9080, doc: 'Call planning' },
  { name: 'description', order: 10, scope: 'command', type: 'string', max: 4000, guideLine: 9081, doc: 'Broadcast description' },
  { name: 'maxSimultaneousContact', order: 11, scope: 'command', type: 'number', guideLine: 9082, doc: 'Contacts called at the same time' },
  {
    name: 'priority',
    order: 12,
    scope: 'command',
    type: 'enum',
    values: ['1', '2', '4'],
    errata: ['Priority'],
    guideLine: 9083,
    doc: 'Priority: 1 low, 2 normal, 4 high',
  },
  { name: 'quota', order: 13, scope: 'command', type: 'number', guideLine: 9084, doc: 'Quota applied to the broadcast' },
  {
    name: 'quotaResult',
    order: 14,
    scope: 'command',
    type: 'string',
    max: 255,
    guideLine: 9085,
    doc: 'Result that counts towards the quota (required with quota)',
  },
  { name: 'contactListId', order: 15, scope: 'command', type: 'number', repeatable: true, guideLine: 9086, doc: 'A contact list of the space (repeatable)' },
  { name: 'spreading', order: 16, scope: 'command', type: 'flag', guideLine: 9087, doc: 'Spread voice calls over the broadcast (0/1)' },
  { name: 'customizableId', order: 17, scope: 'block', type: 'number', guideLine: 9088, doc: 'Customizable part; starts a message block' },
  { name: 'documentId', order: 18, scope: 'block', type: 'number', guideLine: 9089, doc: 'A document of the space library (or multimediaType)' },
  {
    name: 'multimediaType',
    order: 19,
    scope: 'block',
    type: 'enum',
    max: 4,
    values: MULTIMEDIA_TYPES,
    errata: [],
    guideLine: 9090,
    doc: 'JPG GIF HTML PDF TTS TXT 3GP WAV (or documentId)',
  },
  { name: 'text', order: 20, scope: 'block', type: 'string', max: 4000, guideLine: 9091, doc: 'SMS/MMS/TTS text; dynamic fields allowed' },
  {
    name: 'ttsVoice',
    order: 21,
    scope: 'block',
    type: 'enum',
    max: 15,
    values: ['claire08s', 'laura8k'],
    guideLine: 9092,
    doc: 'TTS voice: claire08s (French, default) or laura8k (English)',
  },
  { name: 'fileName', order: 22, scope: 'block', type: 'string', max: 255, guideLine: 9095, doc: 'A document dropped in in/ before the trigger' },
  { name: 'messageFrom', order: 23, scope: 'block', type: 'string', max: 255, guideLine: 9096, doc: 'Caller number, sender address, MMS name or SMS OADC' },
  { name: 'messageSubject', order: 24, scope: 'block', type: 'string', max: 255, guideLine: 9097, doc: 'MMS or email subject' },
  { name: 'smsFlash', order: 25, scope: 'block', type: 'flag', guideLine: 9098, doc: 'Flash SMS (0/1)' },
  { name: 'smsLong', order: 26, scope: 'block', type: 'flag', guideLine: 9099, doc: 'Long SMS (0/1)' },
  { name: 'smsUnicode', order: 27, scope: 'block', type: 'flag', guideLine: 9100, doc: 'SMS encoded as Unicode (0/1)' },
  {
    name: 'fileAttachment',
    order: 28,
    scope: 'block',
    type: 'string',
    max: 255,
    repeatable: true,
    guideLine: 9101,
    doc: 'Email attachment by file name (2 attachments at most)',
  },
  {
    name: 'documentAttachment',
    order: 29,
    scope: 'block',
    type: 'number',
    repeatable: true,
    guideLine: 9102,
    doc: 'Email attachment by document id (2 attachments at most)',
  },
  { name: 'oneTouchId', order: 30, scope: 'command', type: 'number', required: 'favourite', guideLine: 9103, doc: 'Favourite ("one touch") broadcast' },
];

/** Most attachments (fileAttachment + documentAttachment) in one email block (guide line 9109). */
export const MAX_ATTACHMENTS = 2;

const BY_NAME = new Map<string, ParamSpec>(PARAMS.map((p) => [p.name, p]));
const BY_ERRATUM = new Map<string, ParamSpec>();
const BY_LOWER = new Map<string, ParamSpec>();
for (const p of PARAMS) {
  for (const e of p.errata ?? []) BY_ERRATUM.set(e, p);
  BY_LOWER.set(p.name.toLowerCase(), p);
}

/** How a name was recognised: canonical, a known erratum, or only by case. */
export type NameMatch = { spec: ParamSpec; how: 'canonical' | 'erratum' | 'case' };

/** Finds the parameter a (possibly misspelled) name stands for. */
export function lookupParam(raw: string): NameMatch | undefined {
  const exact = BY_NAME.get(raw);
  if (exact) return { spec: exact, how: 'canonical' };
  const erratum = BY_ERRATUM.get(raw);
  if (erratum) return { spec: erratum, how: 'erratum' };
  const lower = BY_LOWER.get(raw.toLowerCase());
  if (lower) return { spec: lower, how: 'case' };
  return undefined;
}

export const COMMAND_PARAMS = PARAMS.filter((p) => p.scope !== 'block');
export const BLOCK_PARAMS = PARAMS.filter((p) => p.scope === 'block');

/** Dynamic fields allowed in `text` (guide lines 9113-9126, email variant line 9996). */
export const DYNAMIC_FIELDS: Readonly<Record<string, { column?: string; doc: string }>> = {
  datejour: { doc: 'date of the day (file triggers)' },
  date: { doc: 'date of the day (email triggers)' },
  'contact.prenom': { column: 'FORENAME', doc: 'contact forename' },
  'contact.nom': { column: 'NAME', doc: 'contact name' },
  'contact.info1': { column: 'INFO1', doc: 'contact INFO1' },
  'contact.info2': { column: 'INFO2', doc: 'contact INFO2' },
  'contact.info3': { column: 'INFO3', doc: 'contact INFO3' },
  'contact.info4': { column: 'INFO4', doc: 'contact INFO4' },
  shortcode: { doc: 'the service short code' },
};

/** Edit distance, for "did you mean" suggestions. */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The canonical name closest to a misspelled one (errata, case, or at most 2 edits away). */
export function suggestParam(raw: string): string | undefined {
  const known = lookupParam(raw);
  if (known) return known.spec.name;
  let best: { name: string; d: number } | undefined;
  for (const p of PARAMS) {
    const d = distance(raw.toLowerCase(), p.name.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { name: p.name, d };
  }
  return best?.name;
}

/**
 * The parameters of email triggers, in the order of their own table (guide
 * lines 9962-9987): another set and order than file triggers' (userLang after
 * scenarioId, messageSubject before text; no encoding, spreading, documentId,
 * smsLong, fileAttachment, documentAttachment; multimediaType required).
 */
export const EMAIL_PARAM_ORDER: readonly (CommandParamName | BlockParamName)[] = [
  'serviceId',
  'spaceId',
  'broadcastName',
  'scenarioId',
  'userLang',
  'startDate',
  'stopDate',
  'callPlanningId',
  'description',
  'maxSimultaneousContact',
  'priority',
  'quota',
  'quotaResult',
  'contactListId',
  'customizableId',
  'fileName',
  'messageFrom',
  'messageSubject',
  'smsFlash',
  'smsUnicode',
  'text',
  'multimediaType',
  'ttsVoice',
  'oneTouchId',
];
