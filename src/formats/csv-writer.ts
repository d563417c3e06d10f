/**
 * CSV trigger serialization (guide §3.2.4.2): `#COMMAND`, one `name:value`
 * line per parameter in the documented order, `#CONTACTS`, the header, one
 * line per contact, `#END`. Values are written unquoted (TRIGGER-PROTOCOLS.md
 * §1.1); the encoder has already refused or replaced `;`, CR and LF.
 */
import { declaredName } from './encoding.js';
import type { ContactColumn } from './contacts.js';
import type { OutputEncoding, TriggerCommand } from './model.js';
import { orderedParams } from './ordered-params.js';

export const CSV_EOL = '\n';

/**
 * Readers strip one pair of double quotes around a command value (the guide
 * writes `text:"..."`): a value that itself starts and ends with `"` is
 * written inside one more pair, so that it reads back unchanged.
 */
export function quoteIfQuoted(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? `"${value}"` : value;
}

/** The command part, from `#COMMAND` to `#CONTACTS` and the header line included. */
export function csvHead(command: TriggerCommand, columns: readonly ContactColumn[], encoding: OutputEncoding): string {
  let s = `#COMMAND${CSV_EOL}encoding:${declaredName(encoding)}${CSV_EOL}`;
  for (const p of orderedParams(command)) s += `${p.name}:${quoteIfQuoted(p.value)}${CSV_EOL}`;
  return `${s}#CONTACTS${CSV_EOL}${columns.join(';')}${CSV_EOL}`;
}

export const CSV_TAIL = `#END${CSV_EOL}`;
