/**
 * XML trigger serialization (guide §3.2.5, XML examples): the declaration (always, though
 * the guide's examples omit it: TRIGGER-PROTOCOLS.md §1.2), `<auth>`, the
 * `<command>` with one `<customizableMsgs>` holding every block, then
 * `<contacts>`. A hand-written escaping writer: xmlbuilder2 takes 5 s and
 * 1.5 GB for 100,000 contacts (issue #2), this takes a fraction of that.
 */
import { columnSpec, type ContactColumn } from './contacts.js';
import { xmlDeclaredName } from './encoding.js';
import type { OutputEncoding, TriggerCommand } from './model.js';
import { orderedParams } from './ordered-params.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const NEEDS_ESCAPE = /[&<>"]/;

/** Escapes text content (control characters were refused before). */
export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[&<>"]/g, (c) => ESCAPES[c] ?? c) : s;
}

const el = (indent: string, name: string, value: string): string =>
  value === '' ? `${indent}<${name}/>\n` : `${indent}<${name}>${escapeXml(value)}</${name}>\n`;

export function xmlHead(command: TriggerCommand, encoding: OutputEncoding, withContacts: boolean): string {
  let s = `<?xml version="1.0" encoding="${xmlDeclaredName(encoding)}"?>\n<dmc>\n  <auth>\n`;
  const params = orderedParams(command);
  for (const p of params) if (p.spec.scope === 'auth') s += el('    ', p.name, p.value);
  s += '  </auth>\n  <command>\n';
  let openBlock = -1;
  for (const p of params) {
    if (p.spec.scope === 'auth') continue;
    if (p.block !== undefined) {
      if (openBlock < 0) s += '    <customizableMsgs>\n';
      if (p.block !== openBlock) {
        if (openBlock >= 0) s += '      </customizableMsg>\n';
        s += '      <customizableMsg>\n';
        openBlock = p.block;
      }
      s += el('        ', p.name, p.value);
      continue;
    }
    if (openBlock >= 0) {
      s += '      </customizableMsg>\n    </customizableMsgs>\n';
      openBlock = -2;
    }
    s += el('    ', p.name, p.value);
  }
  if (openBlock >= 0) s += '      </customizableMsg>\n    </customizableMsgs>\n';
  s += '  </command>\n';
  return withContacts ? `${s}  <contacts>\n` : s;
}

/** Precomputes the element names of the columns. */
export function xmlColumnTags(columns: readonly ContactColumn[]): { open: string[]; close: string[]; empty: string[] } {
  const names = columns.map((c) => columnSpec(c).xml);
  return {
    open: names.map((n) => `      <${n}>`),
    close: names.map((n) => `</${n}>\n`),
    empty: names.map((n) => `      <${n}/>\n`),
  };
}

export function xmlContact(values: readonly string[], tags: ReturnType<typeof xmlColumnTags>): string {
  let s = '    <contact>\n';
  for (let i = 0; i < tags.open.length; i++) {
    const v = values[i] ?? '';
    s += v === '' ? tags.empty[i] : tags.open[i] + escapeXml(v) + tags.close[i];
  }
  return `${s}    </contact>\n`;
}

export function xmlTail(withContacts: boolean): string {
  return withContacts ? '  </contacts>\n</dmc>\n' : '</dmc>\n';
}
