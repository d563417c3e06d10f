// Realistic French contacts for the benchmarks: accents, €, œ, INFO1 ~60 chars.
const NOMS = [
  'Dupont',
  'Durand',
  'Lefèvre',
  'Moreau',
  'Fournier',
  'Girard',
  'Bonnet',
  'Mercier',
  'Lambert',
  'Faure',
  'Rousseau',
  'Bœuf',
  'Müller',
  "L'Hôte",
  'Garçon',
];
const PRENOMS = ['Pierre', 'Élodie', 'Noël', 'Zoé', 'Loïc', 'Chloé', 'Jérôme', 'Anaïs', 'François', 'Cécile', 'Maëlle', 'Benoît', 'Hélène', 'Joël'];
const VILLES = ['Besançon', 'Orléans', 'Nîmes', 'Saint-Étienne', 'Angoulême', 'Bourg-en-Bresse', 'Pontoise', 'Évry'];

/** Row i as SI columns: Nom, Prénom, Mobile, Référence, Info (INFO1). */
export function contact(i) {
  const nom = NOMS[i % NOMS.length];
  const prenom = PRENOMS[(i * 7) % PRENOMS.length];
  const mobile = `06${String(10000000 + ((i * 7919) % 89999999)).padStart(8, '0')}`;
  const ref = `CLI-${String(i).padStart(7, '0')}`;
  const info = `Votre commande n°${i} de ${(i % 500) + 10},${String(i % 100).padStart(2, '0')} € à ${VILLES[i % VILLES.length]} : cœur de gamme`;
  return [nom, prenom, mobile, ref, info];
}

export const EXPORT_HEADER = ['Nom', 'Prénom', 'Mobile', 'Référence', 'Info'];
export const DMC_COLUMNS = ['NAME', 'FORENAME', 'PHONENUMBER1', 'EXTERNALREFERENCE', 'INFO1'];

export const COMMAND = {
  serviceId: '12345678',
  spaceId: '123',
  broadcastName: 'Bench',
  scenarioId: '40',
  callPlanningId: '41',
  startDate: '2027-01-15 09:00:00',
  stopDate: '2027-01-16 20:00:00',
  priority: '2',
  messages: [{ customizableId: '10', multimediaType: 'TXT', text: 'Bonjour |contact.prenom|, |contact.info1|. Stop au |shortcode|' }],
};
