/**
 * The document types the platform takes, in one table for the whole project
 * (validator, builder, daemon, simulator, email triggers).
 *
 * File triggers (guide lines 10050-10057): wav, pdf, html/htm, jpg/jpeg,
 * gif, 3gp, txt. Email triggers (guide line 9928) take the same list less
 * txt.
 */
export const DOCUMENT_EXTENSIONS = ['wav', 'pdf', 'html', 'htm', 'jpg', 'jpeg', 'gif', '3gp', 'txt'] as const;

/** Attachment types an email trigger takes (guide line 9928). */
export const MAIL_DOCUMENT_EXTENSIONS = ['html', 'htm', 'gif', 'jpg', 'jpeg', '3gp', 'pdf', 'wav'] as const;

export type DocumentExtension = (typeof DOCUMENT_EXTENSIONS)[number];

/** The lower-cased extension of a file name, without the dot ('' when none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** True when the platform takes a file of this name as a document (not a trigger). */
export function isDocumentName(name: string): boolean {
  return (DOCUMENT_EXTENSIONS as readonly string[]).includes(extensionOf(name));
}
