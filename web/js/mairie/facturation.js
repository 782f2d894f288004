// « Facturation » (administrator): a month's dry run, finalising and publishing it, the billing
// runs with their direct debits and their titles for the Trésor public.
import { api, say, el, town, euros, frenchDate, problemText, onSubmit, field } from '../portail.js';
import { debitActions } from '../encaissements.js';
import { pesActions, loadPesFiles, startCertificates } from './pes.js';

/** Shows the tab, opens on last month, wires « Aperçu ». */
export function startBilling(ctx, today) {
  const { message } = ctx;
  document.getElementById('facturation').hidden = false;
  const last = new Date(`${today.slice(0, 7)}-01T12:00:00Z`);
  last.setUTCMonth(last.getUTCMonth() - 1);
  document.getElementById('mois-facturation').value = last.toISOString().slice(0, 7);
  document.getElementById('choix-facturation').addEventListener('submit', (e) => previewBilling(ctx, e).catch((p) => say(message, problemText(p), true)));
}

const ANOMALIES = { pending_request: 'Demande en attente de décision', no_attendance: 'Présence non relevée' };

/** The dry run of a month's billing, with the button that finalises it once it is over. */
async function previewBilling(ctx, event) {
  const { me } = ctx;
  event?.preventDefault();
  const month = document.getElementById('mois-facturation').value;
  const box = document.getElementById('apercu-facturation');
  const p = await api(`/staff/invoices/preview?month=${encodeURIComponent(month)}`);
  const label = p.label.charAt(0).toUpperCase() + p.label.slice(1);
  const rows = p.bills.map((b) => el('tr', {}, el('td', { 'data-label': 'Famille' }, b.family), el('td', { 'data-label': 'Lignes' }, String(b.lines.length)), el('td', { 'data-label': 'Montant' }, euros(b.total))));
  const parts = [
    el('p', { class: 'resume' }, `${label} : ${p.bills.length} facture(s), ${euros(p.total)} au total ; ${p.zero} famille(s) sans rien à payer.`),
    p.bills.length ? el('table', { class: 'lignes' }, el('caption', {}, `Aperçu de ${p.label}`),
      el('thead', {}, el('tr', {}, ...['Famille', 'Lignes', 'Montant'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows)) : null,
    p.anomalies.length ? el('ul', { 'aria-label': 'À vérifier' }, ...p.anomalies.map((a) => el('li', {}, `${ANOMALIES[a.kind]} : ${a.child}, ${a.unit}, ${frenchDate(a.date)}`))) : el('p', {}, 'Rien à vérifier.'),
  ];
  if (p.complete) {
    const go = el('button', { type: 'button' }, `Facturer ${p.label}`);
    const told = el('p', { role: 'status', 'aria-live': 'polite' });
    go.addEventListener('click', async () => {
      go.disabled = true;
      try {
        let done;
        do { done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/finalise`, { method: 'POST', csrf: me.csrf_token }); } while (done.remaining > 0);
        const waiting = done.anomalies.filter((a) => a.kind === 'pending_request').length;
        told.textContent = `${label} : ${done.invoices} facture(s) émise(s) en tout${done.numbers ? `, jusqu'au n° ${done.numbers[1]}` : ''}.`
          + (waiting ? ` ${waiting} demande(s) en attente ne sont pas facturées : acceptées plus tard, elles le seront sur la facture suivante (régularisation).` : '');
      } catch (problem) { told.textContent = problemText(problem); } finally { go.disabled = false; }
    });
    const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/runs/${encodeURIComponent(month)}/export`, download: '' }, `Exporter les factures de ${p.label} (CSV)`);
    parts.push(go, told, publishForm(ctx, month, p.label), el('p', {}, csv));
  } else {
    parts.push(el('p', { class: 'aide' }, 'Ce mois n\'est pas terminé : il pourra être facturé le lendemain de son dernier jour.'));
  }
  box.replaceChildren(...parts.filter(Boolean));
}

/** « Publier »: the month's invoices visible to families on a date, each guardian emailed. */
function publishForm(ctx, month, label) {
  const { me } = ctx;
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
  const [dateLabel, date] = field('Visible par les familles le', { type: 'date', name: 'on', value: today, required: '' });
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  const form = el('form', { class: 'choix' }, dateLabel, date, el('button', { type: 'submit' }, `Publier ${label}`), told);
  onSubmit(form, async (data) => {
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/publish`, { method: 'POST', csrf: me.csrf_token, body: { on: data.get('on') } });
      } while (done.remaining > 0);
      told.textContent = `Factures de ${label} publiées pour le ${frenchDate(done.publication.on)} : les familles reçoivent un e-mail ce jour-là.`;
      await loadRuns(ctx);
    } catch (problem) { told.textContent = problemText(problem); }
  });
  return form;
}

/** The billing runs: invoices, total, publication. */
export async function loadRuns(ctx) {
  const { me } = ctx;
  const runs = await api('/staff/invoices/runs');
  const rows = runs.map((r) => el('tr', {},
    el('td', { 'data-label': 'Mois' }, r.label),
    el('td', { 'data-label': 'Factures' }, String(r.invoices)),
    el('td', { 'data-label': 'Montant' }, euros(r.total)),
    el('td', { 'data-label': 'Publication' }, r.publication ? `le ${frenchDate(r.publication.on)}` : 'non publiée'),
    el('td', { 'data-label': 'Prélèvements' }, ...(ctx.config?.billing?.direct_debit ? debitActions(r.month, r.label, me) : ['—'])),
    el('td', { 'data-label': 'Trésor public' }, ...(ctx.config?.billing?.helios ? pesActions(r.month, r.label, me, loadPesFiles) : ['—']))));
  document.getElementById('liste-facturations').replaceChildren(runs.length
    ? el('table', { class: 'lignes' }, el('caption', {}, 'Facturations'),
      el('thead', {}, el('tr', {}, ...['Mois', 'Factures', 'Montant', 'Publication', 'Prélèvements', 'Trésor public'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows))
    : el('p', {}, 'Aucun mois facturé.'));
  if (ctx.config?.billing?.helios) await loadPesFiles();
  if (ctx.config?.billing?.tax_certificate) startCertificates(me);
}
