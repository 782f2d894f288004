// « Titres pour le Trésor public » (administrator): a billed month's invoices sent to Hélios as
// a PES V2 file, once each; the files made, to download and hand to the comptable public.
import { api, el, town, euros, frenchDate, problemText } from '../portail.js';
import { confirmAct } from './confirmer.js';
import { count, NNBSP } from './commun.js';

/** « Émettre les titres » of a billed month (`run`, from the runs' list): asks first, then makes
 * files until none is left to make. */
export function pesActions(run, me, reload) {
  const { month, label } = run;
  const told = el('span', { role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'secondaire' }, 'Émettre les titres', el('span', { class: 'visually-hidden' }, ` de ${label}`));
  button.addEventListener('click', async () => {
    const sure = await confirmAct({
      title: `Émettre les titres de ${label}${NNBSP}?`,
      consequences: [
        `Les factures de ${label} pas encore transmises (${count(run.invoices, 'facture', 'factures')} émises en tout, ${euros(run.total)}) partent au comptable public dans un fichier PES, avec leur PDF.`,
        `Une facture transmise ne l’est jamais une seconde fois${NNBSP}; une correction après l’envoi devient une réduction de titre dans le fichier suivant.`,
      ],
      confirm: `Émettre les titres de ${label}`,
    });
    if (!sure) return;
    button.disabled = true;
    let files = 0;
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/pes`, { method: 'POST', csrf: me.csrf_token });
        files += 1;
      } while (done.remaining > 0);
      told.textContent = ` ${count(files, 'fichier PES créé', 'fichiers PES créés')} pour ${label}.`;
      await reload();
    } catch (problem) {
      told.textContent = problem?.code === 'nothing_to_send' && files > 0 ? ` ${count(files, 'fichier PES créé', 'fichiers PES créés')}.` : ` ${problemText(problem)}`;
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
    : el('p', {}, `Aucun fichier PES${NNBSP}: «${NNBSP}Émettre les titres${NNBSP}» d’un mois facturé en crée un.`));
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
      told.textContent = `Attestations ${year} publiées${NNBSP}: ${count(emailed, 'famille prévenue', 'familles prévenues')} par e-mail.`;
    } catch (problem) { told.textContent = problemText(problem); }
    button.disabled = false;
  });
  box.replaceChildren(button, told);
}
