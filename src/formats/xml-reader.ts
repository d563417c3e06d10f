/**
 * Reads an XML trigger (`<dmc>`, guide §3.2.5, the XML examples, lines 9221-9860) with saxes,
 * streaming: the head (auth, command) at once, contacts as they come.
 *
 * Encoding: the XML declaration wins, then a BOM; without either, UTF-8 when
 * the bytes are valid UTF-8, else ISO-8859-15, with a warning either way
 * (the guide's examples carry no declaration; TRIGGER-PROTOCOLS.md §1.2).
 *
 * One erratum of the guide is not well-formed XML: the cross-media example
 * closes `</customizableMsgs>` after every `</customizableMsg>` (§1.3). Such a
 * stray closing tag, followed by another `<customizableMsg>`, is blanked in
 * place (line and column stay true) before parsing, with a warning.
 */
import { SaxesParser } from 'saxes';
import { maxLineLength } from './text-input.js';
import { CommandAssembler } from './command-assembler.js';
import { lookupXmlColumn, type ContactColumn } from './contacts.js';
import { looksUtf8, normalizeEncodingName } from './encoding.js';
import { finding, type FindingList } from './findings.js';
import { lookupParam } from './params.js';
import type { ReadContact, TriggerHead } from './model.js';
import type { ReadOptions, TriggerReading } from './csv-reader.js';
import { decode, sniff, type ByteSource } from './text-input.js';

const DECLARATION = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/;
/** The head (everything before `<contacts`) is held in memory to repair the erratum: bounded. */
const MAX_HEAD_CHARS = 4 * 1024 * 1024;
const STRAY_CLOSE = /<\/customizableMsgs\s*>(?=\s*<customizableMsg[\s>])/g;

/** Chooses how to decode an XML trigger from its first bytes. */
export function xmlEncoding(sample: Buffer, complete: boolean, findings: FindingList, forced?: string): string {
  if (forced) return forced;
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf8';
  const m = DECLARATION.exec(sample.subarray(0, 200).toString('latin1'));
  if (m) {
    const name = normalizeEncodingName(m[1] ?? '');
    if (name) return name;
    findings.add(
      finding('E_UNKNOWN_ENCODING', `the XML declaration names encoding '${m[1]}', which this tool does not know: use ISO-8859-15 or UTF-8`, { line: 1 }),
    );
    return 'iso-8859-15';
  }
  const u = looksUtf8(sample, complete);
  if (u.valid) {
    if (u.nonAscii)
      findings.add(
        finding(
          'W_NO_XML_DECLARATION',
          'no XML declaration: read as UTF-8 since the bytes are UTF-8; the platform expects ISO-8859-15: add <?xml version="1.0" encoding="UTF-8"?> or convert the file',
          { line: 1 },
        ),
      );
    else
      findings.add(
        finding('W_NO_XML_DECLARATION', 'no XML declaration (ASCII only, so no harm): the writer adds <?xml version="1.0" encoding="ISO-8859-15"?>', {
          line: 1,
        }),
      );
    return 'utf8';
  }
  findings.add(
    finding('W_NO_XML_DECLARATION', 'no XML declaration and the bytes are not UTF-8: read as ISO-8859-15; add <?xml version="1.0" encoding="ISO-8859-15"?>', {
      line: 1,
    }),
  );
  return 'iso-8859-15';
}

type Ctx = 'root' | 'dmc' | 'auth' | 'command' | 'msgs' | 'msg' | 'contacts' | 'contact' | 'skip';

/** Reads an XML trigger. Findings go to `findings`; nothing is thrown for bad content. */
export async function readXmlTrigger(source: ByteSource, findings: FindingList, opts: ReadOptions = {}): Promise<TriggerReading> {
  const { sample, complete, chunks } = await sniff(source);
  const encoding = xmlEncoding(sample, complete, findings, opts.encoding);
  const text = decode(chunks, encoding)[Symbol.asyncIterator]();

  const asm = new CommandAssembler(findings);
  const columns: ContactColumn[] = [];
  const maxLine = opts.maxLineLength ?? maxLineLength();
  const parser = new SaxesParser({ position: true });
  let fatal = false;
  const stack: Ctx[] = ['root'];
  let leafText = '';
  let leafName: string | undefined;
  let leafLine = 0;
  let contact: Map<number, string> | undefined;
  let contactLine = 0;
  let contactFieldLine = 0;
  let headDone = false;
  let hasContactsPart = false;
  const queue: ReadContact[] = [];

  // The guide's XML has no DOCTYPE: one is refused before anything it declares could matter (XXE, entity bombs).
  parser.on('doctype', () => {
    if (!fatal)
      findings.add(
        finding('E_XML_DOCTYPE', 'the file declares a DOCTYPE: a DMC trigger has none (guide lines 9221-9860); remove the <!DOCTYPE ...> declaration', {
          line: parser.line,
        }),
      );
    fatal = true;
  });
  parser.on('error', (e) => {
    if (!fatal)
      findings.add(finding('E_XML_MALFORMED', `not well-formed XML: ${e.message.replace(/^\d+:\d+: /, '')} (fix the tags around it)`, { line: parser.line }));
    fatal = true;
  });
  parser.on('opentag', (tag) => {
    const ctx = stack[stack.length - 1] ?? 'root';
    const name = tag.name;
    const line = parser.line;
    const push = (c: Ctx): void => {
      stack.push(c);
    };
    if (leafName !== undefined) {
      findings.add(finding('E_XML_STRUCTURE', `<${name}> inside <${leafName}>: a parameter holds text only`, { line }));
      push('skip');
      return;
    }
    switch (ctx) {
      case 'root':
        if (name !== 'dmc') findings.add(finding('E_XML_STRUCTURE', `the root element is <${name}>: an XML trigger's root is <dmc>`, { line }));
        return push('dmc');
      case 'dmc':
        if (name === 'auth') return push('auth');
        if (name === 'command') return push('command');
        if (name === 'contacts') {
          headDone = true;
          hasContactsPart = true;
          return push('contacts');
        }
        findings.add(finding('E_XML_STRUCTURE', `<${name}> under <dmc>: only <auth>, <command> and <contacts> belong there`, { line }));
        return push('skip');
      case 'command':
        if (name === 'customizableMsgs') return push('msgs');
        if (name === 'customizableMsg') {
          asm.openBlock(line);
          return push('msg');
        }
        break;
      case 'msgs':
        if (name === 'customizableMsg') {
          asm.openBlock(line);
          return push('msg');
        }
        findings.add(finding('E_XML_STRUCTURE', `<${name}> under <customizableMsgs>: only <customizableMsg> belongs there`, { line }));
        return push('skip');
      case 'contacts':
        if (name === 'contact') {
          contact = new Map();
          contactLine = line;
          return push('contact');
        }
        findings.add(finding('E_XML_STRUCTURE', `<${name}> under <contacts>: only <contact> belongs there`, { line }));
        return push('skip');
      case 'skip':
        return push('skip');
      default:
        break;
    }
    // a leaf: a parameter (auth, command, msg) or a contact field
    leafName = name;
    leafText = '';
    leafLine = line;
    if (ctx === 'contact') contactFieldLine = line;
    push(ctx);
  });
  /** `<auth>` holds the authentication parameters, `<command>` the broadcast's, `<customizableMsg>` a block's (guide §3.2.5, XML examples). */
  const checkScope = (name: string, ctx: Ctx | undefined, line: number): void => {
    const spec = lookupParam(name)?.spec;
    if (!spec || !ctx) return;
    const here = ctx === 'msg' ? 'block' : ctx;
    if (spec.scope === 'declaration') {
      findings.add(
        finding(
          'E_XML_STRUCTURE',
          `<${name}> in an XML trigger: the encoding is the XML declaration's (<?xml version="1.0" encoding="ISO-8859-15"?>); remove the element`,
          { line, field: spec.name },
        ),
      );
    } else if ((here === 'auth' || spec.scope === 'auth') && spec.scope !== here) {
      const home = spec.scope === 'auth' ? '<auth>' : spec.scope === 'block' ? '<customizableMsg>' : '<command>';
      findings.add(
        finding('E_XML_STRUCTURE', `<${name}> inside <${ctx === 'msg' ? 'customizableMsg' : ctx}>: it belongs in ${home}`, { line, field: spec.name }),
      );
    } else if (here === 'block' && spec.scope === 'command') {
      findings.add(
        finding(
          'E_XML_STRUCTURE',
          `<${name}> inside <customizableMsg>: it is a parameter of the whole broadcast; move it into <command>, outside the message blocks`,
          { line, field: spec.name },
        ),
      );
    }
  };
  parser.on('text', (t) => {
    if (leafName !== undefined) leafText += t;
  });
  parser.on('cdata', (t) => {
    if (leafName !== undefined) leafText += t;
  });
  parser.on('closetag', () => {
    const ctx = stack.pop();
    const parent = stack[stack.length - 1];
    if (leafName !== undefined && ctx === parent) {
      const name = leafName;
      leafName = undefined;
      if (ctx === 'contact') contactField(name, leafText, contactFieldLine);
      else {
        checkScope(name, ctx, leafLine);
        asm.param(name, leafText, leafLine, { implicitBlocks: false, stripQuotes: false });
      }
      return;
    }
    if (ctx === 'msg') asm.closeBlock();
    else if (ctx === 'command') headDone = true;
    else if (ctx === 'contact' && contact) {
      const values: string[] = new Array<string>(columns.length).fill('');
      for (const [i, v] of contact) values[i] = v;
      queue.push({ line: contactLine, values });
      contact = undefined;
    }
  });

  function contactField(name: string, value: string, line: number): void {
    const m = lookupXmlColumn(name);
    if (!m) {
      findings.add(
        finding(
          'E_UNKNOWN_COLUMN',
          `unknown contact element <${name}>: the elements are the camelCase of annex 5.3's columns (name, forename, phoneNumber1, email, info1...)`,
          { line, field: name },
        ),
      );
      return;
    }
    if (m.how !== 'canonical') findings.add(finding('W_XML_ERRATUM', `<${name}> read as <${m.spec.xml}> (${m.spec.name})`, { line, field: m.spec.name }));
    let idx = columns.indexOf(m.spec.name);
    if (idx < 0) {
      columns.push(m.spec.name);
      idx = columns.length - 1;
    }
    if (contact?.has(idx)) findings.add(finding('E_DUPLICATE_COLUMN', `<${m.spec.xml}> given twice in one contact: keep one`, { line, field: m.spec.name }));
    // Literal, like a CSV field: the contact rules warn about spaces around an address.
    contact?.set(idx, value);
  }

  // Head: read text until the contacts start (or the end), repair the erratum, parse.
  let headText = '';
  let rest = '';
  for (;;) {
    const r = await text.next();
    if (r.done) break;
    headText += r.value;
    const at = headText.indexOf('<contacts');
    if (at >= 0) {
      rest = headText.slice(at);
      headText = headText.slice(0, at);
      break;
    }
    if (headText.length > MAX_HEAD_CHARS) break;
  }
  headText = headText.replace(STRAY_CLOSE, (m, offset: number) => {
    const line = headText.slice(0, offset).split('\n').length;
    findings.add(
      finding(
        'W_XML_ERRATUM',
        '</customizableMsgs> closes after every <customizableMsg> (an erratum of the guide): read as one <customizableMsgs> holding every block; close it once, after the last block',
        { line },
      ),
    );
    return ' '.repeat(m.length);
  });
  // Text between two tags is bounded like a line: memory stays flat on a file with no markup.
  let sinceTag = 0;
  const feed = (s: string): void => {
    if (fatal || !s) return;
    const last = Math.max(s.lastIndexOf('<'), s.lastIndexOf('>'));
    sinceTag = last < 0 ? sinceTag + s.length : s.length - last - 1;
    if (sinceTag > maxLine) {
      findings.add(
        finding(
          'E_LINE_TOO_LONG',
          `more than ${maxLine} characters of text without a tag, around line ${parser.line}: not a DMC trigger (or raise the limit: --max-line-length <characters>, or DMC_MAX_LINE_LENGTH)`,
          { line: parser.line },
        ),
      );
      fatal = true;
      return;
    }
    parser.write(s);
  };
  feed(headText);
  feed(rest);
  while (!headDone && !fatal) {
    const r = await text.next();
    if (r.done) break;
    feed(r.value);
  }
  const finishFindings = (): void => {
    if (!fatal) {
      try {
        parser.close();
      } catch {
        /* reported through the error handler */
      }
    }
  };

  const head: TriggerHead = {
    format: 'xml',
    encoding,
    command: asm.result(),
    columns,
    hasContactsPart: hasContactsPart || queue.length > 0,
    lines: asm.lines,
  };

  async function* drainQueue(): AsyncGenerator<ReadContact> {
    // Contacts parsed from one chunk; taken by index, then the array is emptied in one go.
    for (let i = 0; i < queue.length; i++) yield queue[i]!;
    queue.length = 0;
  }
  async function* contacts(): AsyncGenerator<ReadContact> {
    for (;;) {
      yield* drainQueue();
      if (fatal) return;
      const r = await text.next();
      if (r.done) {
        finishFindings();
        yield* drainQueue();
        return;
      }
      feed(r.value);
    }
  }
  if (!hasContactsPart) {
    // No contacts part seen in the head: drain to the end to report any late structure error.
    const drained: ReadContact[] = [];
    for await (const c of contacts()) drained.push(c);
    return { head: { ...head, hasContactsPart: hasContactsPart || drained.length > 0 }, contacts: fromArray(drained) };
  }
  return { head, contacts: contacts() };
}

async function* fromArray<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}
