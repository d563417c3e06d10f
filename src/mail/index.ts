/**
 * `dmc-trigger/mail`: email triggers (a plain-text command body, contacts
 * attached), mail2sms, and the platform's replies read over IMAP and matched
 * to what was sent.
 */
export {
  emailTriggerBody,
  planMail2Sms,
  mail2SmsText,
  normalizeMobile,
  parseReply,
  PLATFORM_ADDRESS,
  MAIL2SMS_DOMAIN,
  MAIL2SMS_MAX_NUMBERS,
  MAIL2SMS_MAX_TEXT,
} from '../formats/mail.js';
export type { Reply, Mail2SmsMessage, Mail2SmsPlan } from '../formats/mail.js';
export { prepareEmailTrigger } from '../files/email-trigger.js';
export type { EmailTriggerInput, PreparedEmailTrigger } from '../files/email-trigger.js';
export { Mailer } from '../transport/smtp.js';
export type { OutgoingMail, SentMail } from '../transport/smtp.js';
export { processReplies, watchReplies, matchReply } from '../transport/imap.js';
export type { ReplyEvent } from '../transport/imap.js';
export { MailStore } from '../transport/mail-store.js';
export type { SentRecord } from '../transport/mail-store.js';
