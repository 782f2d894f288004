// « Journal » (administrator): the staff's actions, newest first, 50 at a time, each with what
// changed.
import { api, say, el, frenchInstant } from '../portail.js';

/** The audit log's actions, as the journal names them. */
const ACTIONS = {
  'news.create': 'Actualité publiée', 'news.update': 'Actualité modifiée', 'news.delete': 'Actualité supprimée',
  'news.attach': 'Pièce jointe ajoutée', 'news.detach': 'Pièce jointe retirée',
  'requests.decide': 'Demandes décidées', 'attendance.mark': 'Pointage', 'attendance.justify': 'Absences justifiées',
  'config.update': 'Configuration modifiée', 'family.update': 'Famille corrigée', 'child.update': 'Enfant corrigé',
  'child_file.read_health': 'Données de santé consultées', 'child_file.validate': 'Fiche enfant validée', 'child_file.correction': 'Correction de fiche enfant demandée',
  'documents.decide': 'Document examiné', 'documents.delete': 'Document supprimé', 'families.import': 'Import des familles',
  'staff.create': 'Compte du personnel créé', 'invoices.finalise': 'Factures émises', 'invoices.publish': 'Factures publiées', 'invoices.contest': 'Ligne de facture contestée', 'invoices.contest_accept': 'Contestation acceptée (avoir)', 'invoices.contest_refuse': 'Contestation refusée', 'invoices.credit_note': 'Avoir émis', 'invoices.cancel': 'Facture annulée', 'invoices.regularisation_credit': 'Régularisation émise en avoir', 'invoices.refund': 'Avoir remboursé', 'invoices.payment': 'Paiement enregistré', 'invoices.transmit': 'Facture transmise au Trésor public', 'invoices.payfip_anomaly': 'Paiement en ligne à vérifier', 'invoices.mandate': 'Mandat de prélèvement enregistré', 'invoices.mandate_end': 'Mandat de prélèvement terminé', 'invoices.debit_rejected': 'Prélèvement rejeté', 'bookings.staff_change': 'Réservations modifiées hors délai',
  'closure.cancel': 'Réservations annulées par une fermeture', 'closure.reopen': 'Réouverture annoncée aux familles',
  'waiting_list.promote': "Place attribuée depuis la liste d'attente", 'waiting_list.offer_lapsed': "Place proposée non confirmée à temps",
  'absence.report': 'Absence signalée par la famille', 'attendance.justify_reported': 'Absence signalée justifiée (certificat)',
  'attendance.unjustify': 'Justification retirée (certificat refusé)', 'family.close': 'Dossier de famille clos', 'family.erase': 'Données de famille effacées',
};

// The fields that differ between an entry's before and after, « champ : avant → après ».
function changes(e) {
  const object = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (!object(e.before) || !object(e.after)) return [];
  const show = (v) => { const t = v === undefined ? '—' : JSON.stringify(v); return t.length > 160 ? `${t.slice(0, 157)}…` : t; };
  return [...new Set([...Object.keys(e.before), ...Object.keys(e.after)])]
    .filter((k) => JSON.stringify(e.before[k]) !== JSON.stringify(e.after[k]))
    .map((k) => `${k} : ${show(e.before[k])} → ${show(e.after[k])}`);
}

let journalCursor = null;
/** The journal's first page, or the next one under it (`more`). */
export async function loadJournal(ctx, more = false) {
  const { message } = ctx;
  const box = document.getElementById('liste-journal');
  const query = more && journalCursor ? `&cursor=${encodeURIComponent(journalCursor)}` : '';
  const page = await api(`/staff/audit?limit=50${query}`);
  journalCursor = page.next;
  const rows = page.entries.map((e) => {
    const diff = changes(e);
    const what = diff.length ? el('ul', {}, ...diff.map((d) => el('li', {}, d)))
      : el('pre', {}, JSON.stringify(e.after ?? e.before ?? {}, null, 1).slice(0, 2000));
    return el('tr', {},
      el('td', { 'data-label': 'Quand' }, frenchInstant(e.at)),
      el('td', { 'data-label': 'Qui' }, e.by),
      el('td', { 'data-label': 'Action' }, ACTIONS[e.action] || e.action),
      el('td', { 'data-label': 'Objet' }, e.target),
      el('td', { 'data-label': 'Détail' }, el('details', {}, el('summary', {}, 'Voir', el('span', { class: 'visually-hidden' }, ` le détail : ${ACTIONS[e.action] || e.action}, ${e.target}`)), what)));
  });
  const body = box.querySelector('tbody');
  if (more && body) body.append(...rows);
  else {
    const refresh = el('button', { type: 'button', class: 'secondaire' }, 'Actualiser le journal');
    refresh.addEventListener('click', () => loadJournal(ctx).catch((p) => say(message, p.title, true)));
    box.replaceChildren(refresh, rows.length === 0 ? el('p', {}, 'Aucune action enregistrée.') : el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-label': 'Journal des actions' }, el('table', { class: 'lignes' },
      el('thead', {}, el('tr', {}, ...['Quand', 'Qui', 'Action', 'Objet', 'Détail'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows))));
  }
  box.querySelector('.plus-ancien')?.remove();
  if (page.next) {
    const older = el('button', { type: 'button', class: 'secondaire plus-ancien' }, 'Entrées plus anciennes');
    older.addEventListener('click', () => loadJournal(ctx, true).catch((p) => say(message, p.title, true)));
    box.append(older);
  }
}
