// « Titres pour le Trésor public » (administrator): a billed month's invoices sent to Hélios as
// a PES V2 file, once each; the files made, to download and hand to the comptable public.
import { api, el, town, euros, frenchDate, problemText } from '../portail.js';

const NNBSP = '\u202f';

/** « Émettre les titres » of a billed month: makes files until none is left to make. */
export function pesActions(month, label, me, reload) {
  const told = el('span', { role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'secondaire' }, 'Émettre les titres', el('span', { class: 'visually-hidden' }, ` de ${label}`));
  button.addEventListener('click', async () => {
    button.disabled = true;
    let files = 0;
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/pes`, { method: 'POST', csrf: me.csrf_token });
        files += 1;
      } while (done.remaining > 0);
      told.textContent = ` ${files} fichier(s) PES créé(s) pour ${label}.`;
      await reload();
    } catch (problem) {
      told.textContent = problem?.code === 'nothing_to_send' && files > 0 ? ` ${files} fichier(s) PES créé(s).` : ` ${problemText(problem)}`;
    }
    button.disabled = false;
  });
  return [button, told];
}

/** The town's PES files, newest first, each to download. */
export async function loadPesFiles() {
  const box = document.getElementById('liste-pes');
  if (!box) return;
  const files = await api('/staff/invoices/pes');
  const rows = files.map((f) => el('tr', {},
    el('td', { 'data-label': 'Fichier' }, el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/pes/${encodeURIComponent(f.id)}`, download: '' }, f.id)),
    el('td', { 'data-label': 'Créé' }, `le ${frenchDate(f.created_on)}`),
    el('td', { 'data-label': 'Titres' }, `${f.titles} (${euros(f.total)})`),
    el('td', { 'data-label': 'Réductions' }, f.reductions ? `${f.reductions} (${euros(f.reduced)})` : '—')));
  box.replaceChildren(files.length
    ? el('table', { class: 'lignes' }, el('caption', {}, 'Fichiers PES pour le Trésor public'),
      el('thead', {}, el('tr', {}, ...['Fichier', 'Créé', 'Titres', 'Réductions'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows))
    : el('p', {}, `Aucun fichier PES${NNBSP}: « Émettre les titres » d'un mois facturé en crée un.`));
}

/** « Publier les attestations fiscales » of last year: each household with one is emailed once. */
export function startCertificates(me) {
  const box = document.getElementById('attestations-fiscales');
  if (!box) return;
  const year = Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric' }).format(new Date())) - 1;
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button' }, `Publier les attestations fiscales ${year}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    let emailed = 0;
    try {
      let done;
      do {
        done = await api(`/staff/invoices/tax-certificates/${year}/publish`, { method: 'POST', csrf: me.csrf_token });
        emailed += done.emailed;
      } while (done.remaining > 0);
      told.textContent = `Attestations ${year} publiées${NNBSP}: ${emailed} famille(s) prévenue(s) par e-mail.`;
    } catch (problem) { told.textContent = problemText(problem); }
    button.disabled = false;
  });
  box.replaceChildren(button, told);
}
