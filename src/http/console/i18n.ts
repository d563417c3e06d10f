/** The console's words in English and French (`?lang=fr`, remembered in a cookie; else Accept-Language). */
export type Lang = 'en' | 'fr';

const FR: Readonly<Record<string, string>> = {
  Overview: "Vue d'ensemble",
  Inputs: 'Entrées',
  Broadcasts: 'Diffusions',
  Reports: 'Comptes rendus',
  'Log out': 'Se déconnecter',
  'Log in': 'Se connecter',
  'Access token': "Jeton d'accès",
  'The token is in the file': 'Le jeton est dans le fichier',
  'Wrong token.': 'Jeton incorrect.',
  'Drop folders': 'Dossiers de dépôt',
  healthy: 'lisible',
  unhealthy: 'illisible',
  Account: 'Compte',
  reachable: 'joignable',
  unreachable: 'injoignable',
  'not tried yet': 'pas encore essayé',
  'Inputs by state': 'Entrées par état',
  'Triggers by state': 'Fichiers déclencheurs par état',
  'Last pass': 'Dernier passage',
  'Last report collected': 'Dernier compte rendu collecté',
  none: 'aucun',
  Alerts: 'Alertes',
  'No alert.': 'Aucune alerte.',
  'failed input(s)': 'entrée(s) en échec',
  'hook deliveries given up': 'livraisons de hooks abandonnées',
  'hook deliveries waiting': 'livraisons de hooks en attente',
  State: 'État',
  Folder: 'Dossier',
  Date: 'Date',
  Name: 'Nom',
  Filter: 'Filtrer',
  any: 'tous',
  Previous: 'Précédent',
  Next: 'Suivant',
  page: 'page',
  of: 'sur',
  Input: 'Entrée',
  Trigger: 'Déclencheur',
  'Remote name': 'Nom distant',
  Contacts: 'Contacts',
  Outcome: 'Résultat',
  Broadcast: 'Diffusion',
  Error: 'Erreur',
  'Error file': "Fichier d'erreur",
  Results: 'Résultats',
  delivered: 'remis',
  failed: 'échec',
  pending: 'en attente',
  Retry: 'Réessayer',
  Resend: 'Renvoyer',
  'Retry takes a failed input that never reached the platform.': "Réessayer reprend une entrée en échec qui n'a jamais atteint la plateforme.",
  'Resend sends it again, as a new broadcast.': 'Renvoyer la renvoie, comme une nouvelle diffusion.',
  Medium: 'Média',
  'Deliveries over time': 'Remises dans le temps',
  'No status yet.': 'Aucun statut pour le moment.',
  Size: 'Taille',
  Updated: 'Mis à jour',
  'Not found.': 'Introuvable.',
  Created: 'Créée',
  Attempts: 'Tentatives',
  Records: 'Lignes',
  Label: 'Libellé',
  Count: 'Nombre',
  'Success rate': 'Taux de succès',
};

export function t(lang: Lang, text: string): string {
  return lang === 'fr' ? (FR[text] ?? text) : text;
}

export function pickLang(query: string | undefined, cookie: string | undefined, accept: string | undefined): Lang {
  if (query === 'fr' || query === 'en') return query;
  if (cookie === 'fr' || cookie === 'en') return cookie;
  return /^\s*fr\b/i.test(accept ?? '') ? 'fr' : 'en';
}
