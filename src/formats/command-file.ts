/**
 * Command files: the command part of a trigger as YAML or JSON, with the
 * guide's parameter names; repeatable parameters as arrays; message blocks as
 * a `messages` array (docs/formats.md, "Command files").
 *
 * YAML is read with the failsafe schema, so every scalar stays the string it
 * was typed as (`serviceId: 0123` keeps its zero, `spaceId: 123` is "123").
 * Dates may be given as the guide's `YYYY-MM-DD HH:mm:ss` (Europe/Paris wall
 * clock) or as an ISO 8601 instant with an offset, converted to Europe/Paris
 * whatever the host's time zone (TRIGGER-PROTOCOLS.md §1.1 decisions).
 */
import { parseDocument, isNode, LineCounter } from 'yaml';
import { finding, TriggerFormatError, type Finding } from './findings.js';
import type { MessageBlock, TriggerCommand } from './model.js';
import { BLOCK_PARAMS, COMMAND_PARAMS, suggestParam } from './params.js';
import { parisTime } from './paris-time.js';

/** The keys of a command and of a block, each a single value or a list (repeatable). A plain check, no schema library: it runs at every build's start. */
const COMMAND_KEYS = new Map<string, boolean>(COMMAND_PARAMS.filter((p) => p.name !== 'encoding').map((p) => [p.name, p.repeatable === true]));
const BLOCK_KEYS = new Map<string, boolean>(BLOCK_PARAMS.map((p) => [p.name, p.repeatable === true]));

type Issue = { path: (string | number)[]; unknown?: string; message?: string };

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
const scalarText = (v: string | number | boolean): string => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v));

/** Checks an object against `keys`; the values as wire strings, the problems in `issues`. */
function shape(obj: Record<string, unknown>, keys: ReadonlyMap<string, boolean>, path: (string | number)[], issues: Issue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const repeatable = keys.get(k);
    if (repeatable === undefined) {
      issues.push({ path, unknown: k });
      continue;
    }
    if (isScalar(v)) out[k] = repeatable ? [scalarText(v)] : scalarText(v);
    else if (repeatable && Array.isArray(v) && v.every(isScalar)) out[k] = v.map(scalarText);
    else issues.push({ path: [...path, k], message: 'expected a value (text or number)' });
  }
  return out;
}

function checkShape(data: unknown, issues: Issue[]): Record<string, unknown> {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    issues.push({ path: [], message: 'expected a value (text or number)' });
    return {};
  }
  const { messages, ...rest } = data as Record<string, unknown>;
  const out = shape(rest, COMMAND_KEYS, [], issues);
  if (messages !== undefined) {
    if (!Array.isArray(messages)) issues.push({ path: ['messages'], message: 'expected a value (text or number) list of blocks' });
    else {
      out['messages'] = messages.map((b, i) => {
        if (!b || typeof b !== 'object' || Array.isArray(b)) {
          issues.push({ path: ['messages', i], message: 'expected a value (text or number)' });
          return {};
        }
        return shape(b as Record<string, unknown>, BLOCK_KEYS, ['messages', i], issues);
      });
    }
  }
  return out;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** `2026-12-01T07:00:00Z` → `2026-12-01 08:00:00` (Europe/Paris); other values unchanged. */
export function toParisWallClock(value: string): string {
  if (!INSTANT.test(value)) return value;
  const t = Date.parse(value);
  if (Number.isNaN(t)) return value;
  const p = parisTime(new Date(t));
  return `${p.date} ${p.seconds}`;
}

function suggestion(key: string): string {
  const name = key === 'message' || key === 'blocks' ? 'messages' : suggestParam(key);
  return name ? ` (did you mean '${name}'?)` : '';
}

/**
 * Parses a command file's text. Throws TriggerFormatError (code
 * INVALID_COMMAND_FILE) with one finding per problem, each with its line.
 */
export function parseCommandFile(text: string, file: string): TriggerCommand {
  const counter = new LineCounter();
  const isJson = /\.json$/i.test(file) || /^\s*\{/.test(text);
  const doc = parseDocument(text, { schema: isJson ? 'json' : 'failsafe', lineCounter: counter, prettyErrors: false });
  const problems: Finding[] = [];
  for (const e of doc.errors) {
    problems.push(finding('E_COMMAND_FILE', `${isJson ? 'JSON' : 'YAML'} syntax: ${e.message.split('\n')[0]}`, { line: counter.linePos(e.pos[0]).line }));
  }
  if (problems.length) throw new TriggerFormatError('INVALID_COMMAND_FILE', `${file}: not a valid command file`, problems, file);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb (billions of laughs) is refused before it is expanded.
    throw new TriggerFormatError(
      'INVALID_COMMAND_FILE',
      `${file}: not a valid command file`,
      [finding('E_COMMAND_FILE', `${(e as Error).message} (too many YAML aliases): write the values out`)],
      file,
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return commandFromData(data ?? {}, file, lineOf);
}

/**
 * A command from a parsed object (a command file's content, or a
 * `CommandInput` given by a program): checked against the guide's names,
 * scalars turned into the strings that go on the wire (numbers as typed,
 * booleans as 0/1, `Date`s and ISO instants as Europe/Paris wall clock).
 * Problems throw a `TriggerFormatError` whose findings name each key.
 */
export function commandFromData(data: unknown, source: string, lineOf: (path: readonly PropertyKey[]) => number | undefined = () => undefined): TriggerCommand {
  const problems: Finding[] = [];
  const issues: Issue[] = [];
  const c = checkShape(withDates(data), issues) as Record<string, unknown> & { messages?: MessageBlock[] };
  if (issues.length) {
    for (const issue of issues) {
      const where = issue.path.join('.');
      if (issue.unknown !== undefined) {
        const k = issue.unknown;
        problems.push(
          finding(
            'E_COMMAND_FILE',
            `unknown key '${k}'${where ? ` in ${where}` : ''}${suggestion(k)}: the keys are the guide's parameter names (docs/formats.md)`,
            { line: lineOf([...issue.path, k]), field: k },
          ),
        );
      } else {
        problems.push(
          finding('E_COMMAND_FILE', `${where || 'the file'}: ${issue.message}`, {
            line: lineOf(issue.path),
            field: String(issue.path[issue.path.length - 1] ?? ''),
          }),
        );
      }
    }
    throw new TriggerFormatError('INVALID_COMMAND_FILE', `${source}: not a valid command file`, problems, source);
  }
  for (const k of ['startDate', 'stopDate'] as const) if (typeof c[k] === 'string') c[k] = toParisWallClock(c[k] as string);
  if (typeof c['userLang'] === 'string')
    c['userLang'] = ({ fr_fr: 'Fr_fr', en_gb: 'En_gb' } as Record<string, string>)[(c['userLang'] as string).toLowerCase()] ?? c['userLang'];
  for (const b of c.messages ?? []) {
    const r = b as Record<string, unknown>;
    if (typeof r['multimediaType'] === 'string') r['multimediaType'] = (r['multimediaType'] as string).toUpperCase();
    for (const k of ['smsFlash', 'smsLong', 'smsUnicode']) if (typeof r[k] === 'string') r[k] = flag(r[k] as string);
  }
  if (typeof c['spreading'] === 'string') c['spreading'] = flag(c['spreading'] as string);
  if (c.messages && c.messages.length === 0) delete c.messages;
  return c as unknown as TriggerCommand;
}

/** `Date` values (a program's command) as ISO instants, converted to Paris time like any instant. */
function withDates(data: unknown): unknown {
  if (data instanceof Date) return data.toISOString();
  if (Array.isArray(data)) return data.map(withDates);
  if (data && typeof data === 'object') return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, withDates(v)]));
  return data;
}

function flag(v: string): string {
  const l = v.toLowerCase();
  return l === 'true' || l === 'yes' ? '1' : l === 'false' || l === 'no' ? '0' : v;
}
