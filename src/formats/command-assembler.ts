/**
 * Builds a TriggerCommand from the name/value pairs a reader meets, in file
 * order, for both CSV and XML. Lenient on the guide's errata (each read with
 * a warning, TRIGGER-PROTOCOLS.md §1.3), strict on everything else: unknown
 * names, duplicates and top-level order (guide line 9066: "in the order
 * given in this document") are errors; block order is a warning.
 */
import type { FindingList } from './findings.js';
import { finding } from './findings.js';
import type { MessageBlock, TriggerCommand } from './model.js';
import { EMAIL_PARAM_ORDER, lookupParam, suggestParam, type ParamSpec } from './params.js';

const DATE_ERRATUM = /^(\d{4}-\d{2}-\d{2}) +(\d{2}) *: *(\d{2}) *: *(\d{2})$/;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class CommandAssembler {
  readonly command: Partial<TriggerCommand> & { messages: MessageBlock[] } = { messages: [] };
  readonly lines: Record<string, number> = {};
  private lastTopOrder = 0;
  private lastTopName = '';
  private block: { value: Mutable<MessageBlock>; lastOrder: number; lastName: string; index: number } | undefined;
  private blocksClosed = false;

  /** `email`: the email table's order (guide lines 9962-9987) instead of the file triggers'. */
  constructor(
    private readonly findings: FindingList,
    private readonly channel: 'file' | 'email' = 'file',
  ) {}

  /**
   * Where a parameter stands in the documented order; undefined when it is
   * not ordered: in email triggers, a parameter the email table lacks (the
   * command rules refuse it) and multimediaType, which the table lists after
   * text while every email example of the guide gives it right after
   * customizableId (lines 10110-10320): either place is taken.
   */
  private orderOf(spec: ParamSpec): number | undefined {
    if (this.channel === 'file') return spec.order;
    if (spec.name === 'multimediaType') return undefined;
    const i = (EMAIL_PARAM_ORDER as readonly string[]).indexOf(spec.name);
    return i < 0 ? undefined : i + 1;
  }

  /** The order of the first block parameter (customizableId) in the active table. */
  private get firstBlockOrder(): number {
    return this.channel === 'file' ? 17 : (EMAIL_PARAM_ORDER as readonly string[]).indexOf('customizableId') + 1;
  }

  /** XML: an explicit `<customizableMsg>` opens a block. */
  openBlock(line: number): void {
    const index = this.command.messages.length;
    const value: MessageBlock = {};
    this.command.messages.push(value);
    this.block = { value, lastOrder: 0, lastName: '', index };
    this.lines[`messages[${index}]`] = line;
  }

  /** XML: `</customizableMsg>` closes it. */
  closeBlock(): void {
    this.block = undefined;
  }

  /**
   * One `name:value` (CSV) or `<name>value</name>` (XML).
   * `implicitBlocks`: CSV, where a block starts at `customizableId` or at the
   * first block parameter after the top-level ones.
   */
  param(rawName: string, rawValue: string, line: number, opts: { implicitBlocks: boolean; stripQuotes: boolean }): void {
    const name = rawName.trim();
    const match = lookupParam(name);
    if (!match) {
      const near = suggestParam(name);
      this.findings.add(
        finding(
          'E_UNKNOWN_PARAM',
          `unknown parameter '${name}'${near ? ` (did you mean '${near}'?)` : ''}: the names are those of the guide's table (docs/formats.md lists every parameter)`,
          { line, field: name },
        ),
      );
      return;
    }
    const spec = match.spec;
    if (match.how !== 'canonical') {
      this.findings.add(
        finding('W_PARAM_ERRATUM', `'${name}' read as '${spec.name}' (a misspelling from the guide); write '${spec.name}'`, { line, field: spec.name }),
      );
    } else if (name !== rawName && opts.stripQuotes) {
      this.findings.add(finding('W_VALUE_ERRATUM', `spaces around the parameter name '${name}' ignored`, { line, field: spec.name }));
    }
    const value = this.canonicalValue(spec, rawValue, line, opts.stripQuotes);
    if (spec.scope === 'block') this.blockParam(spec, value, line, opts.implicitBlocks);
    else this.topParam(spec, value, line);
  }

  private canonicalValue(spec: ParamSpec, raw: string, line: number, stripQuotes: boolean): string {
    let v = raw;
    const trimmed = v.trim();
    if (trimmed !== v) {
      this.findings.add(finding('W_VALUE_ERRATUM', `spaces around the value of ${spec.name} ignored`, { line, field: spec.name }));
      v = trimmed;
    }
    // The guide quotes text values in some examples and not in others (TRIGGER-PROTOCOLS.md §1.1).
    if (stripQuotes && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    switch (spec.type) {
      case 'date': {
        const m = DATE_ERRATUM.exec(v);
        if (m && v !== `${m[1]} ${m[2]}:${m[3]}:${m[4]}`) {
          const fixed = `${m[1]} ${m[2]}:${m[3]}:${m[4]}`;
          this.findings.add(
            finding('W_VALUE_ERRATUM', `date '${v}' read as '${fixed}' (spaces around ':'); write YYYY-MM-DD HH:mm:ss`, { line, field: spec.name }),
          );
          v = fixed;
        }
        return v;
      }
      case 'flag': {
        const l = v.toLowerCase();
        if (l === 'true') return '1';
        if (l === 'false') return '0';
        return v;
      }
      case 'enum': {
        if (spec.name === 'multimediaType') {
          if (v.toUpperCase() === 'TEXT') {
            this.findings.add(
              finding('W_VALUE_ERRATUM', `multimediaType 'TEXT' read as 'TXT' (the guide's email table says TEXT); write TXT`, { line, field: spec.name }),
            );
            return 'TXT';
          }
          if (v !== v.toUpperCase() && spec.values?.includes(v.toUpperCase())) {
            this.findings.add(
              finding('W_VALUE_ERRATUM', `multimediaType '${v}' read as '${v.toUpperCase()}'; write it in capitals`, { line, field: spec.name }),
            );
            return v.toUpperCase();
          }
          return v;
        }
        const hit = spec.values?.find((x) => x.toLowerCase() === v.toLowerCase());
        return hit ?? v;
      }
      default:
        return v;
    }
  }

  private topParam(spec: ParamSpec, value: string, line: number): void {
    const cmd = this.command as Record<string, unknown>;
    if (this.block || this.command.messages.length > 0) {
      this.blocksClosed = true;
      this.block = undefined;
    }
    const order = this.orderOf(spec);
    if (order !== undefined && (order < this.lastTopOrder || (this.blocksClosed && order < this.firstBlockOrder))) {
      this.findings.add(
        finding(
          'E_PARAM_ORDER',
          `${spec.name} comes after ${this.lastTopName || 'the message blocks'}: the guide requires the documented order (line ${this.channel === 'file' ? 9066 : '9962-9987, the email table'}); move it up (docs/formats.md shows the order)`,
          { line, field: spec.name },
        ),
      );
    }
    if (order !== undefined && order > this.lastTopOrder) {
      this.lastTopOrder = order;
      this.lastTopName = spec.name;
    }
    if (spec.repeatable) {
      const list = (cmd[spec.name] as string[] | undefined) ?? [];
      list.push(value);
      cmd[spec.name] = list;
      this.lines[`${spec.name}#${list.length - 1}`] = line;
      this.lines[spec.name] ??= line;
      return;
    }
    if (cmd[spec.name] !== undefined) {
      this.findings.add(
        finding('E_DUPLICATE_PARAM', `${spec.name} is given twice (first on line ${this.lines[spec.name]}): keep one`, { line, field: spec.name }),
      );
      return;
    }
    cmd[spec.name] = value;
    this.lines[spec.name] = line;
  }

  private blockParam(spec: ParamSpec, value: string, line: number, implicit: boolean): void {
    if (this.blocksClosed) {
      this.findings.add(
        finding('E_PARAM_ORDER', `${spec.name} comes after a top-level parameter that follows the message blocks: keep each block's parameters together`, {
          line,
          field: spec.name,
        }),
      );
    }
    if (implicit && (spec.name === 'customizableId' || !this.block)) this.openBlock(line);
    if (!this.block) {
      this.findings.add(finding('E_XML_STRUCTURE', `${spec.name} belongs inside <customizableMsg>: move it into a message block`, { line, field: spec.name }));
      return;
    }
    if (this.lastTopOrder < this.firstBlockOrder - 1) this.lastTopOrder = this.firstBlockOrder - 1;
    const b = this.block;
    const key = `messages[${b.index}].${spec.name}`;
    const target = b.value as Record<string, unknown>;
    const order = this.orderOf(spec);
    if (order !== undefined && order < b.lastOrder) {
      this.findings.add(
        finding('W_BLOCK_ORDER', `${spec.name} comes after ${b.lastName} in message block ${b.index + 1}: the guide's order puts it before (docs/formats.md)`, {
          line,
          field: spec.name,
        }),
      );
    }
    if (order !== undefined && order > b.lastOrder) {
      b.lastOrder = order;
      b.lastName = spec.name;
    }
    if (spec.repeatable) {
      const list = (target[spec.name] as string[] | undefined) ?? [];
      list.push(value);
      target[spec.name] = list;
      this.lines[`${key}#${list.length - 1}`] = line;
      this.lines[key] ??= line;
      return;
    }
    if (target[spec.name] !== undefined) {
      this.findings.add(
        finding(
          'E_DUPLICATE_PARAM',
          `${spec.name} is given twice in message block ${b.index + 1} (first on line ${this.lines[key]}): start a new block with customizableId, or keep one`,
          { line, field: spec.name },
        ),
      );
      return;
    }
    target[spec.name] = value;
    this.lines[key] = line;
  }

  /** The command as read; missing required values are left for the validator to report. */
  result(): TriggerCommand {
    const c = { ...this.command } as TriggerCommand;
    if (c.messages && c.messages.length === 0) delete c.messages;
    return c;
  }
}
