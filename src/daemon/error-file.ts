/**
 * The `<name>.error.txt` the daemon writes next to a failed input: what was
 * wrong and how to fix it, in English or French (`daemon.language`). In
 * French each finding gets the French explanation of its code, followed by
 * the detailed message (kept in English: it names values and fixes exactly).
 */
import type { Finding, FindingCode } from '../formats/findings.js';

/** A French explanation for every finding code. */
export const FINDING_CODES_FR: Readonly<Record<FindingCode, string>> = {
  E_EMPTY_FILE: 'le fichier est vide',
  E_NO_COMMAND_MARKER: 'un fichier de déclenchement CSV commence par #COMMAND',
  E_BAD_COMMAND_LINE: "une ligne de commande n'est pas au format <nom>:<valeur>",
  E_NO_END_MARKER: 'la partie contacts ne se termine pas par #END (fichier tronqué ?)',
  W_AFTER_END: 'du texte après #END (ignoré par la plateforme)',
  W_BLANK_LINE: 'une ligne vide (ignorée)',
  E_XML_MALFORMED: 'le XML est mal formé',
  E_XML_DOCTYPE: "un DOCTYPE dans un déclenchement XML (le XML du guide n'en a pas ; entités et DTD externes ne sont jamais lues)",
  E_LINE_TOO_LONG: 'une ligne, ou un texte XML entre deux balises, plus longue que ce que les lecteurs acceptent (1 Mio par défaut)',
  E_XML_STRUCTURE: "un élément XML à une place que la structure n'autorise pas",
  W_XML_ERRATUM: 'une coquille XML du guide, lue avec indulgence',
  W_NO_XML_DECLARATION: "pas de déclaration XML : l'encodage a été deviné",
  W_UNDECLARED_UTF8: 'un fichier CSV en UTF-8 qui ne déclare pas son encodage',
  E_UNKNOWN_ENCODING: 'un encodage déclaré inconnu',
  E_DECODE: "des octets invalides dans l'encodage déclaré",
  E_UNKNOWN_PARAM: 'un paramètre que le guide ne définit pas',
  W_PARAM_ERRATUM: 'un nom de paramètre mal orthographié dans le guide, lu sous son nom correct',
  W_VALUE_ERRATUM: 'une valeur sous une forme erronée du guide, lue correctement',
  E_DUPLICATE_PARAM: 'un paramètre non répétable donné deux fois',
  E_PARAM_ORDER: "un paramètre hors de l'ordre documenté",
  W_BLOCK_ORDER: "un paramètre de bloc de message hors de l'ordre documenté",
  E_REQUIRED: 'un paramètre obligatoire manque',
  E_SHAPE: 'des paramètres de diffusion complète mêlés à une diffusion favorite (oneTouchId)',
  E_TYPE: 'une valeur du mauvais type (nombre, 0/1)',
  E_TOO_LONG: 'une valeur plus longue que ne le permet le guide',
  E_TOO_MANY_REJECTED: "avec l'acceptation partielle, plus de lignes rejetées que le seuil ne le permet : tout l'export est refusé",
  W_ROW_REJECTED: "avec l'acceptation partielle, une ligne écartée (écrite dans le fichier des lignes rejetées) et pourquoi",
  E_SMS_TOO_LONG: 'un texte SMS de plus de 160 caractères (champs remplis) sans smsLong : la plateforme rejette tous les contacts',
  W_SMS_PARTS: 'avec smsLong : le nombre de SMS que prend le plus long message',
  E_ENUM: 'une valeur hors de la liste autorisée',
  E_DATE: "une date qui n'est pas au format AAAA-MM-JJ HH:mm:ss ou qui n'existe pas",
  E_DATE_ORDER: "stopDate n'est pas après startDate",
  E_BLOCK: 'un bloc de message qui enfreint une règle des blocs',
  W_MEDIUM_PARAM: 'une option de bloc pour un autre média que celui du bloc (smsFlash sur un fax, fileAttachment sur un SMS...)',
  E_ATTACHMENTS: 'plus de 2 pièces jointes dans un bloc email',
  E_QUOTA: 'quota sans quotaResult',
  E_DYNAMIC_FIELD: 'un champ dynamique inconnu, ou le mauvais champ de date pour le canal',
  E_DYNAMIC_COLUMN: 'un champ |contact.infoN| sans la colonne INFON',
  W_DYNAMIC_COLUMN: 'un champ |contact.nom| ou |contact.prenom| sans la colonne NAME ou FORENAME',
  E_NO_CONTACTS: 'une diffusion complète sans contacts ni contactListId',
  E_NO_HEADER: "une partie contacts sans ligne d'en-tête",
  E_UNKNOWN_COLUMN: 'une colonne de contact que le guide ne définit pas',
  W_COLUMN_CASE: 'une colonne de contact dans la mauvaise casse',
  E_DUPLICATE_COLUMN: 'une colonne de contact donnée deux fois',
  W_ORPHAN_COLUMN: "un indicatif pays sans le numéro auquel il s'applique (COUNTRYCODEn sans PHONENUMBERn, FAXCOUNTRYCODE sans FAXNUMBER)",
  E_NO_ADDRESS_COLUMN: 'un en-tête sans PHONENUMBER1, FAXNUMBER ni EMAIL1',
  E_FIELD_COUNT: "un contact avec plus ou moins de champs que l'en-tête",
  E_NO_ADDRESS: 'un contact sans téléphone, fax ni email',
  E_PHONE: 'un numéro de téléphone ou de fax invalide',
  E_COUNTRY_CODE: "un indicatif pays qui n'est pas de 1 à 3 chiffres",
  E_EMAIL: 'une adresse email invalide',
  W_WHITESPACE: "des espaces autour d'une valeur",
  E_TOO_MANY_CONTACTS: 'plus de 100 000 contacts dans un fichier (activer le découpage : split)',
  E_FORBIDDEN_CHAR: 'une valeur contenant « ; » (contacts), un retour à la ligne ou un caractère de contrôle',
  W_REPLACED_CHAR: 'un caractère interdit remplacé, comme demandé',
  E_UNENCODABLE: "un caractère que l'ISO-8859-15 ne peut pas représenter (emoji...)",
  W_TRANSLITERATED: 'une ponctuation typographique écrite en ASCII',
  E_DOCUMENT_MISSING: 'un document nommé par le déclenchement est absent',
  E_DOCUMENT_PATH: 'un document nommé avec un chemin (dossier, .., chemin absolu) : un nom de document est un simple nom de fichier',
  E_DOCUMENT_TYPE: "un document d'un type que la plateforme refuse",
  E_WAV_FORMAT: 'un fichier WAV dans un format que la plateforme ne joue pas',
  E_COMMAND_FILE: 'un fichier de commande (YAML/JSON) illisible',
  E_EXPORT: 'un export du SI illisible, ou un envoi refusé',
  W_UNMAPPED_COLUMN: "une colonne de l'export qui ne correspond à aucune colonne DMC (ignorée)",
  E_MAPPING: "une correspondance de colonnes qui ne convient pas à l'export (--map)",
  W_FINDINGS_CAPPED: 'plus de constats que la limite : les suivants sont comptés, pas listés',
};

export type Language = 'en' | 'fr';

export function errorFileText(name: string, inputId: number, findings: readonly Finding[], lang: Language): string {
  const lines = findings.slice(0, 50).map((f) => {
    const where = `${f.line !== undefined ? (lang === 'fr' ? `ligne ${f.line} : ` : `line ${f.line}: `) : ''}${f.code}${f.field ? ` [${f.field}]` : ''}`;
    return lang === 'fr' ? `${where} — ${FINDING_CODES_FR[f.code]}\n    ${f.message}` : `${where}: ${f.message}`;
  });
  const head = lang === 'fr' ? `${name} n'a pas pu être envoyé (entrée n°${inputId}) :` : `${name} could not be sent (input #${inputId}):`;
  return `${head}\n\n${lines.join('\n')}\n`;
}
