/**
 * The parameters of a command in the documented order (guide line 9066),
 * with repeatable ones expanded: what both writers walk.
 */
import type { MessageBlock, TriggerCommand } from './model.js';
import { BLOCK_PARAMS, EMAIL_PARAM_ORDER, PARAMS, type ParamSpec } from './params.js';

export interface OrderedParam {
  readonly spec: ParamSpec;
  readonly name: string;
  readonly value: string;
  /** Index of the message block, for block parameters. */
  readonly block?: number;
}

export function blockParams(block: MessageBlock, index: number): OrderedParam[] {
  const out: OrderedParam[] = [];
  const rec = block as unknown as Record<string, string | string[] | undefined>;
  for (const spec of BLOCK_PARAMS) {
    const v = rec[spec.name];
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push({ spec, name: spec.name, value: x, block: index });
  }
  return out;
}

/** Top-level parameters then blocks then oneTouchId, as the guide's table orders them. Excludes `encoding`. */
export function orderedParams(command: TriggerCommand): OrderedParam[] {
  const out: OrderedParam[] = [];
  const rec = command as unknown as Record<string, string | string[] | undefined>;
  let blocksDone = false;
  for (const spec of PARAMS) {
    if (spec.name === 'encoding') continue;
    if (spec.scope === 'block') {
      if (!blocksDone) (command.messages ?? []).forEach((b, i) => out.push(...blockParams(b, i)));
      blocksDone = true;
      continue;
    }
    const v = rec[spec.name];
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push({ spec, name: spec.name, value: x });
  }
  return out;
}

/** Applies `fn` to every value of a command, returning a new command. */
export function mapCommandValues(command: TriggerCommand, fn: (value: string, field: string) => string): TriggerCommand {
  const mapOne = (rec: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'messages' || v === undefined) continue;
      out[k] = Array.isArray(v) ? v.map((x: string) => fn(x, `${prefix}${k}`)) : fn(String(v), `${prefix}${k}`);
    }
    return out;
  };
  const top = mapOne(command as unknown as Record<string, unknown>, '') as unknown as TriggerCommand;
  if (command.messages) top.messages = command.messages.map((b, i) => mapOne(b as unknown as Record<string, unknown>, `messages[${i}].`) as MessageBlock);
  return top;
}

/**
 * The parameters of an email trigger's body in the email table's order
 * (guide lines 9962-9987), each block's `multimediaType` right after its
 * `customizableId` as every email example of the guide writes it. Parameters
 * the email table lacks are left out (the command rules refuse them first).
 */
export function orderedEmailParams(command: TriggerCommand): OrderedParam[] {
  const rank = (name: string): number => (name === 'customizableId' ? 0 : name === 'multimediaType' ? 1 : 2 + EMAIL_PARAM_ORDER.indexOf(name as never));
  const out: OrderedParam[] = [];
  const rec = command as unknown as Record<string, string | string[] | undefined>;
  const push = (name: string, v: string | string[] | undefined, block?: number): void => {
    const spec = PARAMS.find((p) => p.name === name);
    if (!spec || v === undefined) return;
    for (const x of Array.isArray(v) ? v : [v]) out.push({ spec, name, value: x, ...(block !== undefined ? { block } : {}) });
  };
  const blockNames = new Set(BLOCK_PARAMS.map((p) => p.name as string));
  for (const name of EMAIL_PARAM_ORDER) {
    if (name === 'customizableId') {
      (command.messages ?? []).forEach((b, i) => {
        const brec = b as unknown as Record<string, string | string[] | undefined>;
        for (const n of EMAIL_PARAM_ORDER.filter((x) => blockNames.has(x)).sort((a, c) => rank(a) - rank(c))) push(n, brec[n], i);
      });
      continue;
    }
    if (!blockNames.has(name)) push(name, rec[name]);
  }
  return out;
}
