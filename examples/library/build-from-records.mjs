// Build an SMS trigger from a typed command and contacts held by the program.
// Run: node examples/library/build-from-records.mjs [out-dir]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTrigger } from 'dmc-trigger';

const out = join(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'dmc-example-')), 'relance.csv');
const result = await buildTrigger({
  command: {
    serviceId: '12345678',
    spaceId: 123,
    broadcastName: 'Relance colis',
    scenarioId: 40,
    callPlanningId: 41,
    priority: 2,
    startDate: new Date('2027-01-15T08:00:00Z'), // written 2027-01-15 09:00:00 (Paris)
    messages: [{ customizableId: 10, multimediaType: 'TXT', text: 'Votre colis |contact.info1| est arrivé.' }],
  },
  // The program's own field names: Nom, Mobile... map to NAME, PHONENUMBER1 as an export's headers do.
  contacts: [
    { Nom: 'Dupont', Prénom: 'Pierre', Mobile: '06 12 34 56 78', Référence: 'CLI-0001', Colis: 'PK-20394' },
    { Nom: 'Durand', Prénom: 'Élodie', Mobile: '0623456789', Référence: 'CLI-0002', Colis: 'PK-20395' },
  ],
  map: { INFO1: 'Colis' },
  to: out,
});
if (!result.ok) {
  for (const f of result.findings) console.error(`${f.severity} ${f.code}: ${f.message}`);
  process.exit(1);
}
console.log(`built ${result.files[0].path}: ${result.contacts} contacts, ${result.files[0].bytes} bytes (ISO-8859-15)`);
