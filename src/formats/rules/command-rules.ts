/**
 * Rules on the command part: required parameters per shape, types, sizes,
 * enumerations, dates, quota, and the message blocks. Each rule cites the
 * guide (§3.2.4.2.1, lines 9062-9126).
 */
import { finding, type Finding } from '../findings.js';
import type { MessageBlock, SourceLines, TriggerCommand } from '../model.js';
import { shapeOf } from '../model.js';
import { FIELD } from './sms-length.js';
import { BLOCK_PARAMS, COMMAND_PARAMS, DYNAMIC_FIELDS, EMAIL_PARAM_ORDER, MAX_ATTACHMENTS, type ParamSpec } from '../params.js';
import type { ContactColumn } from '../contacts.js';

export interface CommandContext {
  /** Contact columns of the trigger, when it has a contacts part. */
  readonly columns?: readonly ContactColumn[];
  /** Where each parameter was read, for the line of a finding. */
  readonly lines?: SourceLines;
  /** File trigger (`|datejour|`) or email trigger (`|date|`). */
  readonly channel?: 'file' | 'email';
}

const NUMBER = /^\d+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const MEDIA_EXT: Readonly<Record<string, readonly string[]>> = {
  JPG: ['jpg', 'jpeg'],
  GIF: ['gif'],
  HTML: ['html', 'htm'],
  PDF: ['pdf'],
  '3GP': ['3gp'],
  WAV: ['wav'],
  TXT: ['txt'],
  TTS: ['txt'],
};

/** Parses `YYYY-MM-DD HH:mm:ss` into a comparable number, or undefined when not a real date. */
export function parseDmcDate(v: string): number | undefined {
  const m = DATE.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return t;
}

function checkValue(spec: ParamSpec, value: string, where: { line?: number | undefined; field: string }, out: Finding[]): void {
  const label = where.field;
  if (spec.max !== undefined && value.length > spec.max) {
    out.push(finding('E_TOO_LONG', `${label} is ${value.length} characters; the guide allows ${spec.max}: shorten it`, where));
  }
  switch (spec.type) {
    case 'number':
      if (!NUMBER.test(value)) out.push(finding('E_TYPE', `${label} must be a whole number, not '${value.slice(0, 40)}'`, where));
      break;
    case 'flag':
      if (value !== '0' && value !== '1') out.push(finding('E_TYPE', `${label} must be 0 or 1 (true/false are read too), not '${value}'`, where));
      break;
    case 'enum':
      if (spec.values && !spec.values.some((x) => x.toLowerCase() === value.toLowerCase())) {
        out.push(finding('E_ENUM', `${label} must be one of ${spec.values.join(', ')}, not '${value}'`, where));
      }
      break;
    case 'date':
      if (parseDmcDate(value) === undefined) out.push(finding('E_DATE', `${label} '${value}' is not a date as YYYY-MM-DD HH:mm:ss (Europe/Paris time)`, where));
      break;
    default:
      break;
  }
}

/** Checks the command part. Contacts are checked by ContactChecker. */
export function checkCommand(command: TriggerCommand, ctx: CommandContext = {}): Finding[] {
  const out: Finding[] = [];
  const lines = ctx.lines ?? {};
  const at = (key: string): number | undefined => lines[key];
  const shape = shapeOf(command);
  const cmd = command as unknown as Record<string, unknown>;

  for (const spec of COMMAND_PARAMS) {
    const v = cmd[spec.name];
    if (v === undefined || v === '') {
      if (spec.required === 'always' || spec.required === shape) {
        const why = spec.required === 'full' ? ' (a full trigger needs scenarioId and callPlanningId; a favourite needs oneTouchId instead)' : '';
        out.push(finding('E_REQUIRED', `${spec.name} is required${why}: add it`, { field: spec.name, line: v === '' ? at(spec.name) : undefined }));
      }
      continue;
    }
    if (spec.name === 'encoding') continue;
    if (Array.isArray(v)) v.forEach((x: string, i) => checkValue(spec, x, { field: spec.name, line: at(`${spec.name}#${i}`) }, out));
    else checkValue(spec, String(v), { field: spec.name, line: at(spec.name) }, out);
  }

  if (shape === 'favourite') {
    for (const k of ['scenarioId', 'callPlanningId'] as const) {
      if (command[k] !== undefined)
        out.push(
          finding('E_SHAPE', `${k} with oneTouchId: a favourite trigger takes its scenario from the favourite; remove ${k} or oneTouchId`, {
            field: k,
            line: at(k),
          }),
        );
    }
    if (command.messages?.length)
      out.push(
        finding('E_SHAPE', 'message blocks with oneTouchId: a favourite trigger takes its messages from the favourite; remove the blocks or oneTouchId', {
          field: 'customizableId',
          line: at('messages[0]'),
        }),
      );
  }

  const start = command.startDate ? parseDmcDate(command.startDate) : undefined;
  const stop = command.stopDate ? parseDmcDate(command.stopDate) : undefined;
  if (start !== undefined && stop !== undefined && stop <= start) {
    out.push(
      finding('E_DATE_ORDER', `stopDate ${command.stopDate} is not after startDate ${command.startDate}: move it later`, {
        field: 'stopDate',
        line: at('stopDate'),
      }),
    );
  }
  if (command.quota !== undefined && !command.quotaResult) {
    out.push(
      finding('E_QUOTA', 'quota is set without quotaResult: the guide requires the result that counts towards the quota (line 9085)', {
        field: 'quotaResult',
        line: at('quota'),
      }),
    );
  }

  // Email triggers have their own table (guide lines 9962-9987): another set of parameters, multimediaType required.
  if (ctx.channel === 'email') checkEmailSet(command, at, out);
  // spreading smooths voice calls (guide line 9087): with no voice block it has nothing to spread.
  const blocks = command.messages ?? [];
  if (
    (command as { spreading?: string }).spreading !== undefined &&
    blocks.length > 0 &&
    blocks.every((b) => b.documentId === undefined && !['TTS', 'WAV'].includes(b.multimediaType?.toUpperCase() ?? ''))
  ) {
    out.push(
      finding(
        'W_MEDIUM_PARAM',
        'spreading smooths voice calls over the broadcast (guide line 9087), and no message block is voice (TTS or WAV): it has no effect here',
        { field: 'spreading', line: at('spreading') },
      ),
    );
  }
  const ids = new Map<string, number>();
  (command.messages ?? []).forEach((b, i) => {
    checkBlock(b, i, ctx, out);
    if (b.customizableId !== undefined) {
      const prev = ids.get(b.customizableId);
      if (prev !== undefined)
        out.push(
          finding('E_BLOCK', `customizableId ${b.customizableId} is used by blocks ${prev + 1} and ${i + 1}: each customizable part appears once`, {
            field: 'customizableId',
            line: at(`messages[${i}].customizableId`),
          }),
        );
      else ids.set(b.customizableId, i);
    }
  });
  return out;
}

function checkBlock(b: MessageBlock, i: number, ctx: CommandContext, out: Finding[]): void {
  const lines = ctx.lines ?? {};
  const key = (p: string): string => `messages[${i}].${p}`;
  const line = (p: string): number | undefined => lines[key(p)] ?? lines[`messages[${i}]`];
  const label = (p: string): string => `${p} (block ${i + 1})`;
  const rec = b as unknown as Record<string, unknown>;
  for (const spec of BLOCK_PARAMS) {
    const v = rec[spec.name];
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x: string, k) => checkValue(spec, x, { field: spec.name, line: lines[`${key(spec.name)}#${k}`] ?? line(spec.name) }, out));
    else checkValue(spec, String(v), { field: spec.name, line: line(spec.name) }, out);
  }
  const where = (p: string): { field: string; line: number | undefined } => ({ field: p, line: line(p) });
  if (b.documentId === undefined && b.multimediaType === undefined) {
    out.push(finding('E_BLOCK', `message block ${i + 1} has neither documentId nor multimediaType: give one (guide line 9089)`, where('customizableId')));
  } else if (b.documentId !== undefined && b.multimediaType !== undefined) {
    out.push(
      finding(
        'E_BLOCK',
        `message block ${i + 1} has both documentId and multimediaType: give one (a library document, or a type with text/fileName)`,
        where('documentId'),
      ),
    );
  }
  const type = b.multimediaType?.toUpperCase();
  if (type !== undefined) {
    if (b.text === undefined && b.fileName === undefined) {
      out.push(finding('E_BLOCK', `${label('multimediaType')} ${type} needs text or fileName (guide line 9091)`, where('multimediaType')));
    } else if (type === 'TXT' && b.text === undefined) {
      // An SMS is its text; a TTS block may name a file instead (guide lines 9091, 9095: "renseigner text ou filename").
      out.push(finding('E_BLOCK', `${label('multimediaType')} ${type} needs text`, where('multimediaType')));
    }
    if (b.fileName !== undefined && MEDIA_EXT[type]) {
      const ext = b.fileName.split('.').pop()?.toLowerCase() ?? '';
      if (!MEDIA_EXT[type]!.includes(ext))
        out.push(
          finding(
            'E_BLOCK',
            `${label('fileName')} '${b.fileName}' does not end in .${MEDIA_EXT[type]![0]} as multimediaType ${type} requires`,
            where('fileName'),
          ),
        );
    }
    // The media each option is for (guide lines 9095-9101): described, not said to be refused elsewhere, so a warning.
    for (const [param, media, line] of MEDIUM_PARAMS) {
      if (rec[param] === undefined || media.includes(type)) continue;
      out.push(
        finding(
          'W_MEDIUM_PARAM',
          `${label(param)} is for ${media
            .map((m) => MEDIUM_NAME[m] ?? m)
            .filter((m, k, a) => a.indexOf(m) === k)
            .join(' or ')} (guide line ${line}); multimediaType ${type} is ${MEDIUM_NAME[type] ?? type}: the platform has nothing to do with it here`,
          where(param),
        ),
      );
    }
  }
  // A document name is a bare file name: it is dropped beside the trigger, and a path must never be forwarded.
  const named: [string, string, number | undefined][] = [
    ...(b.fileName !== undefined ? [['fileName', b.fileName, line('fileName')] as [string, string, number | undefined]] : []),
    ...(b.fileAttachment ?? []).map((f, k): [string, string, number | undefined] => [
      'fileAttachment',
      f,
      lines[`${key('fileAttachment')}#${k}`] ?? line('fileAttachment'),
    ]),
  ];
  for (const [field, name, at] of named) {
    if (!isBareFileName(name))
      out.push(
        finding('E_DOCUMENT_PATH', `${label(field)} '${name}' holds a path: name the file only (the document is dropped in in/ beside the trigger)`, {
          field,
          line: at,
        }),
      );
  }
  const attachments = (b.fileAttachment?.length ?? 0) + (b.documentAttachment?.length ?? 0);
  if (attachments > MAX_ATTACHMENTS) {
    out.push(
      finding(
        'E_ATTACHMENTS',
        `message block ${i + 1} has ${attachments} attachments: an email takes ${MAX_ATTACHMENTS} at most (guide line 9109)`,
        where('fileAttachment'),
      ),
    );
  }
  if (b.text !== undefined) checkDynamicFields(b.text, i, ctx, where('text'), out);
}

function checkDynamicFields(text: string, i: number, ctx: CommandContext, where: { field: string; line: number | undefined }, out: Finding[]): void {
  for (const m of text.matchAll(FIELD)) {
    const raw = m[1] ?? '';
    const key = raw.trim().toLowerCase();
    const spec = DYNAMIC_FIELDS[key];
    if (!spec) {
      out.push(
        finding(
          'E_DYNAMIC_FIELD',
          `text of block ${i + 1} uses |${raw}|, which is not a dynamic field: use ${Object.keys(DYNAMIC_FIELDS)
            .map((k) => `|${k}|`)
            .join(', ')}, or remove the '|'`,
          where,
        ),
      );
      continue;
    }
    const channel = ctx.channel ?? 'file';
    if ((key === 'date' && channel === 'file') || (key === 'datejour' && channel === 'email')) {
      out.push(
        finding(
          'E_DYNAMIC_FIELD',
          `|${raw}| is the date field of ${key === 'date' ? 'email' : 'file'} triggers: write |${key === 'date' ? 'datejour' : 'date'}| here (guide lines 9116, 9998)`,
          where,
        ),
      );
    }
    if (spec.column && ctx.columns && ctx.columns.length > 0 && !ctx.columns.includes(spec.column as ContactColumn)) {
      const code = key.startsWith('contact.info') ? 'E_DYNAMIC_COLUMN' : 'W_DYNAMIC_COLUMN';
      out.push(
        finding(code, `text of block ${i + 1} uses |${raw}| but the contacts have no ${spec.column} column: add the column, or remove the field`, where),
      );
    }
  }
}

const EMAIL_SET = new Set<string>(EMAIL_PARAM_ORDER);

function checkEmailSet(command: TriggerCommand, at: (key: string) => number | undefined, out: Finding[]): void {
  const rec = command as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'messages' || v === undefined || k === 'encoding' || EMAIL_SET.has(k)) continue;
    out.push(
      finding('E_UNKNOWN_PARAM', `${k} is not a parameter of email triggers (their table, guide lines 9962-9987): remove it, or send the trigger as a file`, {
        field: k,
        line: at(k),
      }),
    );
  }
  (command.messages ?? []).forEach((b, i) => {
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
      if (v === undefined || EMAIL_SET.has(k)) continue;
      out.push(
        finding(
          'E_UNKNOWN_PARAM',
          `${k} (block ${i + 1}) is not a parameter of email triggers (guide lines 9962-9987): ${k === 'fileAttachment' || k === 'documentAttachment' ? 'attach the document to the email and name it in fileName' : 'remove it, or send the trigger as a file'}`,
          { field: k, line: at(`messages[${i}].${k}`) },
        ),
      );
    }
    if (b.multimediaType === undefined)
      out.push(
        finding('E_REQUIRED', `multimediaType is required in each block of an email trigger (guide line 9985)`, {
          field: 'multimediaType',
          line: at(`messages[${i}]`),
        }),
      );
  });
}

/** multimediaType → the medium it is. */
const MEDIUM_NAME: Readonly<Record<string, string>> = {
  TXT: 'SMS or text MMS',
  TTS: 'voice',
  WAV: 'voice or MMS',
  JPG: 'MMS',
  GIF: 'MMS',
  '3GP': 'MMS',
  HTML: 'email',
  PDF: 'fax',
};

/** Block options and the multimediaTypes of the media they are for (guide lines 9097-9102). */
const MEDIUM_PARAMS: readonly (readonly [string, readonly string[], number])[] = [
  // TXT too: the guide's MMS examples send a text MMS with multimediaType TXT and a subject (3.3.6, "Diffusion MMS 1/3").
  // Voice messages, synthesized or recorded (line 9092): a medium mismatch like the others, a warning.
  ['ttsVoice', ['TTS', 'WAV'], 9092],
  ['messageSubject', ['JPG', 'GIF', '3GP', 'WAV', 'HTML', 'TXT'], 9097],
  ['smsFlash', ['TXT'], 9098],
  ['smsLong', ['TXT'], 9099],
  ['smsUnicode', ['TXT'], 9100],
  ['fileAttachment', ['HTML'], 9101],
  ['documentAttachment', ['HTML'], 9102],
];

/** A plain file name: no folder separator, not `.` or `..`, no control character. */
export function isBareFileName(name: string): boolean {
  return name.length > 0 && !/[\\/\x00-\x1f]/.test(name) && name !== '.' && name !== '..' && !/^[A-Za-z]:/.test(name);
}
