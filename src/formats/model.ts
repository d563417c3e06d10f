/**
 * The typed model of a trigger (guide §3.2.4, TRIGGER-PROTOCOLS.md §1.1).
 *
 * Values are kept as the strings that go on the wire: the guide's types
 * (Number, Date, 0/1) are checked by the validator, not by conversion, so a
 * file read and written back is byte-identical. Contacts are not part of the
 * command: they stream as rows aligned with `columns`.
 */
import type { ContactColumn } from './contacts.js';

/** One customizable part (guide lines 9088-9102, repeatable per line 9107). */
export interface MessageBlock {
  customizableId?: string;
  documentId?: string;
  multimediaType?: string;
  text?: string;
  ttsVoice?: string;
  fileName?: string;
  messageFrom?: string;
  messageSubject?: string;
  smsFlash?: string;
  smsLong?: string;
  smsUnicode?: string;
  /** At most 2 attachments (fileAttachment + documentAttachment) per email. */
  fileAttachment?: string[];
  documentAttachment?: string[];
}

/**
 * The command part. Two shapes exist: full (scenarioId + callPlanningId +
 * messages) and favourite (oneTouchId), guide lines 9509-9545.
 */
export interface TriggerCommand {
  /** Declared encoding; the writers set it from their `encoding` option. */
  encoding?: string;
  serviceId: string;
  spaceId: string;
  userLang?: string;
  broadcastName: string;
  scenarioId?: string;
  startDate?: string;
  stopDate?: string;
  callPlanningId?: string;
  description?: string;
  maxSimultaneousContact?: string;
  priority?: string;
  quota?: string;
  quotaResult?: string;
  contactListId?: string[];
  spreading?: string;
  messages?: MessageBlock[];
  oneTouchId?: string;
}

export type TriggerShape = 'full' | 'favourite';

export function shapeOf(command: Pick<TriggerCommand, 'oneTouchId'>): TriggerShape {
  return command.oneTouchId !== undefined ? 'favourite' : 'full';
}

/** A contact as a row of values aligned with the trigger's columns. */
export type ContactRow = string[];

/** A contact read from a file, with the line it starts on. */
export interface ReadContact {
  readonly line: number;
  readonly values: ContactRow;
}

/** Anything contacts can come from: an array, a generator, a stream reader. */
export type ContactSource = Iterable<ContactRow> | AsyncIterable<ContactRow>;

/** The output encodings a writer supports. */
export type OutputEncoding = 'iso-8859-15' | 'utf8';

/** Where each parameter was read (for findings on parsed files). */
export interface SourceLines {
  /** `serviceId`, `contactListId#1`, `messages[0].text`, `messages[0]` ... */
  readonly [key: string]: number;
}

/** The part of a trigger before its contacts, as read from a file. */
export interface TriggerHead {
  readonly format: 'csv' | 'xml';
  /** The encoding the file was read with (iconv-lite name). */
  readonly encoding: string;
  readonly command: TriggerCommand;
  /** Contact columns in file order; XML files may add columns as contacts come. */
  readonly columns: ContactColumn[];
  /** Whether the file has a contacts part at all (`#CONTACTS` / `<contacts>`). */
  readonly hasContactsPart: boolean;
  readonly lines: SourceLines;
  readonly headerLine?: number;
}

/** A number the guide types `Number`: given as a number or as the digits. */
export type NumberValue = number | `${number}`;
/** The guide's 0/1 options. */
export type FlagValue = boolean | '0' | '1';
export type UserLang = 'Fr_fr' | 'En_gb';
/** 1 low, 2 normal, 4 high (guide line 9083). */
export type Priority = 1 | 2 | 4 | '1' | '2' | '4';
export type TtsVoice = 'claire08s' | 'laura8k';
/** The document types of a message block (guide line 9090). */
export type MultimediaTypeName = 'JPG' | 'GIF' | 'HTML' | 'PDF' | 'TTS' | 'TXT' | '3GP' | 'WAV';

/** One message block as a program writes it (`buildTrigger({ command })`). */
export interface MessageInput {
  customizableId?: NumberValue;
  documentId?: NumberValue;
  multimediaType?: MultimediaTypeName;
  text?: string;
  ttsVoice?: TtsVoice;
  fileName?: string;
  messageFrom?: string;
  messageSubject?: string;
  smsFlash?: FlagValue;
  smsLong?: FlagValue;
  smsUnicode?: FlagValue;
  /** At most 2 attachments (fileAttachment + documentAttachment) per email. */
  fileAttachment?: string | string[];
  documentAttachment?: NumberValue | NumberValue[];
}

/**
 * The command as a program writes it: the guide's parameter names, typed
 * (numbers, booleans, `Date`s, the enumerated values as literal unions).
 * It becomes a `TriggerCommand` (the strings that go on the wire) as a
 * command file does; every rule of the guide is then checked by the writer.
 */
export interface CommandInput {
  serviceId: string | number;
  spaceId: NumberValue;
  userLang?: UserLang;
  broadcastName: string;
  scenarioId?: NumberValue;
  /** A `Date` (converted to Europe/Paris) or `YYYY-MM-DD HH:mm:ss` (Paris wall clock). */
  startDate?: Date | string;
  stopDate?: Date | string;
  callPlanningId?: NumberValue;
  description?: string;
  maxSimultaneousContact?: NumberValue;
  priority?: Priority;
  quota?: NumberValue;
  quotaResult?: string;
  contactListId?: NumberValue | NumberValue[];
  spreading?: FlagValue;
  messages?: MessageInput[];
  oneTouchId?: NumberValue;
}
