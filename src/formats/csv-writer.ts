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

/** The command part, from `#COMMAND` to `#CONTACTS` and the header line included. */
export function csvHead(command: TriggerCommand, columns: readonly ContactColumn[], encoding: OutputEncoding): string {
  let s = `#COMMAND${CSV_EOL}encoding:${declaredName(encoding)}${CSV_EOL}`;
  for (const p of orderedParams(command)) s += `${p.name}:${p.value}${CSV_EOL}`;
  return `${s}#CONTACTS${CSV_EOL}${columns.join(';')}${CSV_EOL}`;
}

export const CSV_TAIL = `#END${CSV_EOL}`;
