/**
 * The document types the platform takes, in one table for the whole project
 * (validator, builder, daemon, simulator, email triggers).
 *
 * The guide lists the types at lines 10050-10057 (html, gif, jpg, 3gp,
 * pdf, wav: what an email trigger takes); line 9040 names documents dropped
 * with file triggers ("wav, jpg, pdf, html ..."), and its email-attachment
 * example sends a .txt, so file triggers also take htm, jpeg and txt.
 */
export const DOCUMENT_EXTENSIONS = ['wav', 'pdf', 'html', 'htm', 'jpg', 'jpeg', 'gif', '3gp', 'txt'] as const;

/** Attachment types an email trigger takes: the guide's closed list (lines 10050-10057), no other spelling (.htm, .jpeg). */
export const MAIL_DOCUMENT_EXTENSIONS = ['html', 'gif', 'jpg', '3gp', 'pdf', 'wav'] as const;

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
