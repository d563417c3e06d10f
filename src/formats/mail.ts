/**
 * Email triggers and mail2sms, as texts (pure: no SMTP, no IMAP).
 *
 * Email trigger (guide §3.3, lines 9914-10200): a plain-text body holding the
 * command lines (same names and order as a file trigger, no `#COMMAND`),
 * contacts as a `.csv` attachment (ISO-8859-15, header required), documents
 * as attachments named by `fileName`. Replies (lines 10065, 10071):
 *   success: `Votre demande a été traitée avec succès. La diffusion n°<id>
 *             (scénario n°<id>) de <n> contact(s) a été déclenchée à <date>.`
 *   failure: `Votre demande n'a pas pu être traitée. Le détail de l'erreur est
 *             la suivante : «<cause>».`
 * Mail2SMS (§3.6, lines 10323-10466): to `<spaceId>@mailtoSMS.fr`, up to 20
 * mobile numbers in the subject separated by `;`, the text (600 characters at
 * most) in the body, between `#SMS#` tags when the mail has a signature.
 *
 * The guide gives the replies in French only; the English forms recognised
 * here (userLang En_gb) are this project's assumption, written the same way
 * by the simulator.
 */
import { quoteIfQuoted } from './csv-writer.js';
import { checkValue } from './encoding.js';
import { finding, type Finding } from './findings.js';
import type { TriggerCommand } from './model.js';
import { orderedEmailParams } from './ordered-params.js';

export const PLATFORM_ADDRESS = 'dmc_admin@dmc.sfr-sh.fr';
export const MAIL2SMS_DOMAIN = 'mailtoSMS.fr';
export const MAIL2SMS_MAX_NUMBERS = 20;
export const MAIL2SMS_MAX_TEXT = 600;
export const SMS_TAG = '#SMS#';

/** Types a document attached to an email trigger may have (guide lines 10050-10057). */
export { MAIL_DOCUMENT_EXTENSIONS } from './document-types.js';

/**
 * The body of an email trigger: the command lines, in the documented order.
 * Values may not hold line breaks (they would start another parameter).
 */
export function emailTriggerBody(command: TriggerCommand): { body: string; findings: Finding[] } {
  const findings: Finding[] = [];
  const lines: string[] = [];
  for (const p of orderedEmailParams(command)) {
    const field = p.block !== undefined ? `messages[${p.block}].${p.name}` : p.name;
    const r = checkValue(p.value.trim(), 'command', { encoding: 'utf8', replaceForbidden: false });
    if (!r.ok) {
      findings.push(finding(r.problem.code, `${field} ${r.problem.message}`, { field }));
      continue;
    }
    lines.push(`${p.name}:${quoteIfQuoted(r.value)}`);
  }
  return { body: `${lines.join('\r\n')}\r\n`, findings };
}

/** A French mobile number (06, 07, +336, +337, 00336...) or an international one (+ then 8 to 15 digits). */
export function normalizeMobile(raw: string): string | undefined {
  const v = raw.replace(/[\s./()-]/g, '');
  if (/^0[67]\d{8}$/.test(v)) return v;
  if (/^(\+|00)33[67]\d{8}$/.test(v)) return `0${v.slice(-9)}`;
  if (/^\+\d{8,15}$/.test(v)) return v;
  if (/^00\d{8,15}$/.test(v)) return `+${v.slice(2)}`;
  return undefined;
}

export interface Mail2SmsMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly numbers: readonly string[];
}

export interface Mail2SmsPlan {
  readonly messages: readonly Mail2SmsMessage[];
  /** Numbers refused, each with why. */
  readonly rejected: readonly { readonly number: string; readonly reason: string }[];
  readonly duplicates: readonly string[];
  readonly errors: readonly string[];
}

/**
 * Plans mail2sms messages: numbers checked as mobile numbers and
 * deduplicated, at most 20 per message (more: several messages with
 * `split`, else an error), text at most 600 characters (longer: an error).
 */
export function planMail2Sms(
  numbers: readonly string[],
  text: string,
  opts: { spaceId: string; split?: boolean; signature?: boolean; domain?: string },
): Mail2SmsPlan {
  const rejected: { number: string; reason: string }[] = [];
  const duplicates: string[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  const ok: string[] = [];
  for (const raw of numbers
    .flatMap((n) => n.split(/[;,]/))
    .map((n) => n.trim())
    .filter(Boolean)) {
    const n = normalizeMobile(raw);
    if (!n) {
      rejected.push({ number: raw, reason: 'not a mobile number (06/07, +336/+337, or + and 8 to 15 digits)' });
      continue;
    }
    if (seen.has(n)) {
      duplicates.push(raw);
      continue;
    }
    seen.add(n);
    ok.push(n);
  }
  if (!/^\d+$/.test(opts.spaceId)) errors.push(`spaceId '${opts.spaceId}' is not a number: the address is <spaceId>@${opts.domain ?? MAIL2SMS_DOMAIN}`);
  const body = text.replace(/\r\n?/g, '\n').trim();
  if (body === '') errors.push('the text is empty');
  if ([...body].length > MAIL2SMS_MAX_TEXT) errors.push(`the text has ${[...body].length} characters; mail2sms takes ${MAIL2SMS_MAX_TEXT} at most`);
  if (body.includes(SMS_TAG)) errors.push(`the text holds ${SMS_TAG}, which delimits it: remove it`);
  if (ok.length === 0) errors.push('no valid mobile number');
  if (ok.length > MAIL2SMS_MAX_NUMBERS && !opts.split)
    errors.push(`${ok.length} numbers: mail2sms takes ${MAIL2SMS_MAX_NUMBERS} per message; split them (--split) or send fewer`);
  if (errors.length) return { messages: [], rejected, duplicates, errors };
  const messages: Mail2SmsMessage[] = [];
  for (let i = 0; i < ok.length; i += MAIL2SMS_MAX_NUMBERS) {
    const part = ok.slice(i, i + MAIL2SMS_MAX_NUMBERS);
    messages.push({
      to: `${opts.spaceId}@${opts.domain ?? MAIL2SMS_DOMAIN}`,
      subject: part.join(';'),
      text: opts.signature ? `${SMS_TAG}${body}${SMS_TAG}` : body,
      numbers: part,
    });
  }
  return { messages, rejected, duplicates, errors };
}

/** What a mail2sms body says: the text between #SMS# tags when present, else the whole body. */
export function mail2SmsText(body: string): string {
  const m = /#SMS#([\s\S]*?)#SMS#/.exec(body);
  return (m ? m[1]! : body).replace(/\r\n?/g, '\n').trim();
}

export type Reply =
  | { kind: 'trigger-success'; broadcastId: string; scenarioId: string; contacts: number; date: string }
  | { kind: 'trigger-failure'; cause: string }
  | { kind: 'mail2sms-confirmation'; text: string; recipients: string[] }
  | { kind: 'mail2sms-failure'; cause: string }
  | { kind: 'mail2sms-report'; date: string; text: string; results: Record<string, string[]> };

const norm = (s: string): string => s.replace(/\r\n?/g, '\n').replace(/\u00A0/g, ' ');

const SUCCESS_FR =
  /Votre demande a été traitée avec succès\.\s*La diffusion n°\s*(\d+)\s*\(scénario n°\s*(\d+)\)\s*de\s*(\d+)\s*contact\(s\)\s*a été déclenchée à\s*([^\n]+?)\.?\s*$/m;
const SUCCESS_EN =
  /Your request has been processed successfully\.\s*Broadcast no\.\s*(\d+)\s*\(scenario no\.\s*(\d+)\)\s*of\s*(\d+)\s*contact\(s\)\s*was started at\s*([^\n]+?)\.?\s*$/m;
const FAILURE_FR = /Votre demande n'a pas pu être traitée\.\s*Le détail de l'erreur est la suivante\s*:\s*«\s*([\s\S]*?)\s*»/;
const FAILURE_EN = /Your request could not be processed\.\s*Error detail\s*:\s*«\s*([\s\S]*?)\s*»/;
const M2S_OK = /(?:Votre demande a été traitée avec succès\.|Your request has been processed successfully\.)\s*(?:Texte du SMS|SMS text)\s*:/;
const M2S_FAIL = /^(?:Un problème est survenu lors du traitement de votre demande\.|A problem occurred while processing your request\.)\s*\n+([\s\S]+?)\s*$/;
const M2S_REPORT = /^(?:Résultat de votre envoi du|Result of your sending of)\s+(\d{2}\/\d{2}\/\d{4})\s+(?:à|at)\s+(\d{2}:\d{2}:\d{2})/m;

/**
 * mail2sms replies are read by their wording, not their layout (the guide's
 * examples, lines 10424-10466, come from an extraction whose `---` rules and
 * `- ` bullets may not be what a mail client shows): the SMS text is what
 * lies between the heading and the recipients' (or results') headings, rules
 * and line wrapping ignored; numbers are found wherever they stand in their
 * section (bullets, commas, one line).
 */
const RULE = /^\s*[-_=*]{3,}\s*$/gm;
/** A French number (`0601020304`, `06 01 02 03 04`, `06.01.02.03.04`) or an international one (`+33612345678`, `0033...`). */
const NUMBER = /(?:\+|00)\d{8,15}|0\d(?:[ .]?\d{2}){4}/g;
const NUMBER_LINE = /^[\s\-•*·]*(?:\+?\d[\d .]*\d[\s,;]*)+$/;
const HEADING = /^\s*([^:\n]{1,60}?)\s*:\s*((?:\+?\d[\d .]*\d[\s,;]*)*)$/;

/** One line of text from the SMS text's lines: rules dropped, wrapping undone. */
function smsText(s: string): string {
  return s.replace(RULE, ' ').replace(/\s+/g, ' ').trim();
}

/** The phone numbers in a piece of text, as written without spaces or dots. */
function numbersIn(s: string): string[] {
  return [...s.matchAll(NUMBER)].map((m) => m[0].replace(/[ .]/g, ''));
}

/** The results of a mail2sms report: from the first heading whose section holds only numbers to the end. */
function reportSections(rest: string): { text: string; results: Record<string, string[]> } {
  const lines = rest.split('\n');
  const isTail = (from: number): boolean => lines.slice(from).every((l) => l.trim() === '' || NUMBER_LINE.test(l) || HEADING.test(l));
  let start = lines.findIndex((l, i) => HEADING.test(l) && isTail(i));
  if (start < 0) start = lines.length;
  const results: Record<string, string[]> = {};
  let current: string | undefined;
  for (const l of lines.slice(start)) {
    const h = HEADING.exec(l);
    if (h) {
      current = h[1]!.trim();
      results[current] = numbersIn(h[2] ?? '');
      continue;
    }
    if (current) results[current]!.push(...numbersIn(l));
  }
  return { text: smsText(lines.slice(0, start).join('\n')), results };
}

/** Recognises a reply of the platform (French or English); undefined when the mail is not one. */
export function parseReply(body: string): Reply | undefined {
  const t = norm(body);
  const s = SUCCESS_FR.exec(t) ?? SUCCESS_EN.exec(t);
  if (s) return { kind: 'trigger-success', broadcastId: s[1]!, scenarioId: s[2]!, contacts: Number(s[3]), date: s[4]!.trim() };
  const f = FAILURE_FR.exec(t) ?? FAILURE_EN.exec(t);
  if (f) return { kind: 'trigger-failure', cause: f[1]!.trim() };
  const r = M2S_REPORT.exec(t);
  if (r) {
    const rest = t.slice(r.index + r[0].length).replace(/^\s*(?:du message|of the message)\s*:?/i, '');
    const { text, results } = reportSections(rest);
    return { kind: 'mail2sms-report', date: `${r[1]} ${r[2]}`, text, results };
  }
  const ok = M2S_OK.exec(t);
  if (ok) {
    const after = t.slice(ok.index + ok[0].length);
    const split = /(?:^|\s)(?:Destinataires|Recipients)\s*:/i.exec(after);
    const body = split ? after.slice(0, split.index) : after;
    const recipients = split ? numbersIn(after.slice(split.index + split[0].length).split(/^\s*(?:En cas d'échec|If it fails)/im)[0] ?? '') : [];
    return { kind: 'mail2sms-confirmation', text: smsText(body), recipients };
  }
  const mf = M2S_FAIL.exec(t.trim());
  if (mf) return { kind: 'mail2sms-failure', cause: mf[1]!.trim() };
  return undefined;
}

/** The reply texts the platform writes (for the simulator), in the broadcast's language; the email-trigger ones end with « Cordialement. » as the guide's (lines 10065-10073). */
export const REPLY_TEXTS = {
  triggerSuccess: (lang: 'fr' | 'en', broadcastId: number, scenarioId: string, contacts: number, date: string): string =>
    lang === 'en'
      ? `Your request has been processed successfully. Broadcast no. ${broadcastId} (scenario no. ${scenarioId}) of ${contacts} contact(s) was started at ${date}.\n\nKind regards.`
      : `Votre demande a été traitée avec succès. La diffusion n°${broadcastId} (scénario n°${scenarioId}) de ${contacts} contact(s) a été déclenchée à ${date}.\n\nCordialement.`,
  triggerFailure: (lang: 'fr' | 'en', cause: string): string =>
    lang === 'en'
      ? `Your request could not be processed. Error detail: «${cause}».\n\nKind regards.`
      : `Votre demande n'a pas pu être traitée. Le détail de l'erreur est la suivante : «${cause}».\n\nCordialement.`,
  mail2smsConfirmation: (text: string, recipients: readonly string[]): string =>
    `Votre demande a été traitée avec succès.\n\nTexte du SMS :\n\n---\n\n${text}\n\n---\n\nDestinataires :\n\n${recipients.map((r) => `- ${r}`).join('\n\n')}\n`,
  mail2smsFailure: (cause: string): string => `Un problème est survenu lors du traitement de votre demande.\n\n${cause}\n`,
  mail2smsReport: (date: string, time: string, text: string, results: Readonly<Record<string, readonly string[]>>): string =>
    `Résultat de votre envoi du ${date} à ${time} du message\n\n---\n\n${text}\n\n---\n\n${Object.entries(results)
      .map(([k, v]) => `${k} :\n\n${v.map((n) => `- ${n}`).join('\n\n')}`)
      .join('\n\n')}\n`,
};
