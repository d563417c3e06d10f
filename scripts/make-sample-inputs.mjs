// Writes the sample SI exports and documents under samples/ (run once; the
// outputs are committed). Each export has the shape and encoding of a real
// information system's export.
import { mkdirSync, writeFileSync } from 'node:fs';
import iconv from 'iconv-lite';

const dir = new URL('../samples/', import.meta.url);
mkdirSync(new URL('exports/', dir), { recursive: true });
mkdirSync(new URL('documents/', dir), { recursive: true });
const put = (name, data) => writeFileSync(new URL(name, dir), data);

// A CRM export: UTF-8 with BOM, ';', French headers, CRLF.
put(
  'exports/crm-semicolon.csv',
  '\uFEFF' +
    [
      'Nom;Prénom;Mobile;Indicatif;Référence;Colis;Ville',
      'Dupont;Pierre;06 12 34 56 78;33;CLI-0001;PK-20394;Lyon',
      'Durand;Élodie;0623456789;33;CLI-0002;PK-20395;Nantes',
      "L'Hôte;Noël;+33698765432;;CLI-0003;PK-20396;Besançon",
      'Œuvre Sociale;;07.11.22.33.44;33;CLI-0004;PK-20397;Paris',
      'Müller;Jürgen;+49301234567;49;CLI-0005;PK-20398;Berlin',
    ].join('\r\n') +
    '\r\n',
);

// An e-mailing export from a Windows tool: Windows-1252, ',', RFC 4180 quotes.
put(
  'exports/emails-cp1252.csv',
  iconv.encode(
    [
      'Last name,First name,E-mail,Customer ID,Offer',
      'Martin,Chloé,chloe.martin@example.fr,C1001,"Remise de 20 €, valable 1 mois"',
      '"Lefèvre, née Roux",Anne,anne.lefevre@example.fr,C1002,Cœur de gamme',
      'Bernard,Loïc,loic.bernard@example.com,C1003,"Offre ""fidélité"""',
    ].join('\r\n') + '\r\n',
    'windows-1252',
  ),
);

// A fax directory from an old ERP: ISO-8859-15, tab-separated.
put(
  'exports/fax-tab-latin9.tsv',
  iconv.encode(
    [
      'raison sociale\tfax\tindicatif pays\tcode client',
      'Société Générale des Eaux\t01 23 45 67 90\t33\tERP-77\t',
      'Bœuf & Cie\t(04) 72 00 00 01\t33\tERP-78\t',
    ]
      .map((l) => l.replace(/\t$/, ''))
      .join('\n') + '\n',
    'iso-8859-15',
  ),
);

// A cross-media export as JSON Lines (UTF-8).
put(
  'exports/cross-media.jsonl',
  [
    {
      nom: 'Dupont',
      prenom: 'Pierre',
      mobile: '0623456789',
      telephone2: '0123456789',
      fax: '0123456790',
      email: 'pierre.dupont@example.fr',
      reference: 123456,
    },
    { nom: 'Garçon', prenom: 'Zoé', mobile: '0612121212', telephone2: '', fax: '', email: 'zoe.garcon@example.fr', reference: 123457 },
  ]
    .map((o) => JSON.stringify(o))
    .join('\n') + '\n',
);

// Documents named by the templates.
const wav = (tag, rate, bits, seconds = 0.25) => {
  const data = Buffer.alloc(Math.round(rate * seconds) * (bits / 8), tag === 6 ? 0xd5 : 0);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(tag, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * bits) / 8, 28);
  h.writeUInt16LE(bits / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
};
put('documents/TESTWAV.wav', wav(6, 8000, 8));
put(
  'documents/TESTFAX.pdf',
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);
put('documents/TESTHTML.html', iconv.encode('<html><body><p>Bonjour, voici notre offre à 20 €.</p></body></html>\n', 'iso-8859-15'));
put('documents/PJ1.gif', Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
put('documents/PJ2.txt', iconv.encode('Conditions générales : voir le site.\n', 'iso-8859-15'));
