// « Facturation » (administrator): a month's dry run, finalising and publishing it, the billing
// runs with their direct debits and their titles for the Trésor public.
import { api, say, el, town, euros, frenchDate, problemText, onSubmit, field } from '../portail.js';
import { confirmAct } from './confirmer.js';
import { count, NNBSP } from './commun.js';
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

/** Where a month stands: « à facturer », « facturé le … », « publié le … ». */
export function runState(run) {
  if (run.status === 'to_bill') return 'à facturer';
  const billed = run.billed_on ? `facturé le ${frenchDate(run.billed_on)}` : 'facturé';
  if (!run.invoices && !run.publication) return `${billed}, sans facture à publier`;
  if (!run.publication) return `${billed}, pas encore publié`;
  const shown = run.publication.on <= parisToday() ? 'publié le' : 'publication prévue le';
  return `${billed}, ${shown} ${frenchDate(run.publication.on)}`;
}

const parisToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());

/** The dry run of a month's billing, with « Facturer » while it is to bill (once it is over)
 * and « Publier » while it is billed and not published; each asks first. */
async function previewBilling(ctx, event) {
  event?.preventDefault();
  const month = document.getElementById('mois-facturation').value;
  const box = document.getElementById('apercu-facturation');
  const p = await api(`/staff/invoices/preview?month=${encodeURIComponent(month)}`);
  const label = p.label.charAt(0).toUpperCase() + p.label.slice(1);
  // The aids each bill deducts (CAF, MSA, the town's own), summed: what the town claims from its funders.
  const aided = (b) => (b.aids || []).reduce((t, a) => t + a.amount, 0);
  const rows = p.bills.map((b) => el('tr', {}, el('td', { 'data-label': 'Famille' }, b.family_name), el('td', { 'data-label': 'Lignes' }, String(b.lines.length)), el('td', { 'data-label': 'Aides déduites' }, aided(b) ? `−${euros(aided(b))}` : '—'), el('td', { 'data-label': 'Montant' }, euros(b.total))));
  const aids = p.bills.reduce((t, b) => t + aided(b), 0);
  const invoices = count(p.bills.length, 'facture', 'factures');
  const warnings = count(p.anomalies.length, 'avertissement non résolu', 'avertissements non résolus');
  const parts = [
    el('p', { class: 'resume', id: 'etat-facturation' }, `${label}${NNBSP}: ${runState(p.run)}.`),
    el('p', {}, `Aperçu${NNBSP}: ${invoices}, ${euros(p.total)} au total${aids ? `, après ${euros(aids)} d’aides déduites` : ''}${NNBSP}; ${count(p.zero, 'famille', 'familles')} sans rien à payer.`),
    p.bills.length ? el('table', { class: 'lignes' }, el('caption', {}, `Aperçu de ${p.label}`),
      el('thead', {}, el('tr', {}, ...['Famille', 'Lignes', 'Aides déduites', 'Montant'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows)) : null,
    p.anomalies.length ? el('ul', { 'aria-label': 'À vérifier' }, ...p.anomalies.map((a) => el('li', {}, `${ANOMALIES[a.kind]}${NNBSP}: ${a.child_name} (${a.family_name}), ${a.unit_name}, ${frenchDate(a.date)}`))) : el('p', {}, 'Rien à vérifier.'),
  ];
  if (!p.complete) {
    parts.push(el('p', { class: 'aide' }, `Ce mois n’est pas terminé${NNBSP}: il pourra être facturé le lendemain de son dernier jour.`));
  } else {
    if (p.run.status === 'to_bill') parts.push(...finaliseButton(ctx, p, { label, invoices, warnings }));
    if (p.run.status === 'billed' && p.run.invoices > 0) parts.push(publishForm(ctx, month, p.label, p.run));
    if (p.run.status !== 'to_bill') {
      const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/runs/${encodeURIComponent(month)}/export`, download: '' }, `Exporter les factures de ${p.label} (CSV)`);
      parts.push(el('p', {}, csv));
      // What the aids' funders owe the town for the month's year (CAF, MSA, the town's own).
      const year = month.slice(0, 4);
      const aidsCsv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/aids?year=${year}&format=csv`, download: '' }, `Exporter les aides de ${year} à réclamer aux financeurs (CSV)`);
      parts.push(el('p', {}, aidsCsv));
    }
  }
  box.replaceChildren(...parts.filter(Boolean));
}

/** « Facturer »: asks with the figures, then issues the numbered invoices in as many calls as
 * it takes, and shows the month again (billed: « Facturer » is gone, « Publier » comes). */
function finaliseButton(ctx, p, { label, invoices, warnings }) {
  const { me } = ctx;
  const month = p.month;
  const go = el('button', { type: 'button', id: 'facturer' }, `Facturer ${p.label}`);
  const told = el('p', { role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  go.addEventListener('click', async () => {
    const sure = await confirmAct({
      title: `Facturer ${p.label}${NNBSP}?`,
      consequences: [
        `${invoices}, ${euros(p.total)}, ${warnings}.`,
        'Les factures reçoivent leur numéro définitif : une facture émise ne se modifie plus, seul un avoir la corrige.'
          + (p.anomalies.length ? ` Les demandes en attente ne sont pas facturées${NNBSP}; les présences non relevées sont facturées comme réservées.` : ''),
      ],
      confirm: `Facturer ${p.label}`,
    });
    if (!sure) return;
    go.disabled = true;
    try {
      let done;
      do { done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/finalise`, { method: 'POST', csrf: me.csrf_token }); } while (done.remaining > 0);
      await previewBilling(ctx);
      await loadRuns(ctx);
      const state = document.getElementById('etat-facturation');
      state.textContent += ` ${count(done.invoices, 'facture émise', 'factures émises')}${done.numbers ? `, jusqu’au n° ${done.numbers[1]}` : ''}.`;
      state.tabIndex = -1;
      state.focus();
    } catch (problem) { told.textContent = problemText(problem); told.focus(); go.disabled = false; }
  });
  return [go, told];
}

/** « Publier »: the month's invoices visible to families on a date, each guardian emailed. */
function publishForm(ctx, month, label, run) {
  const { me } = ctx;
  const [dateLabel, date] = field('Visible par les familles le', { type: 'date', name: 'on', value: parisToday(), required: '' });
  const told = el('p', { role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const form = el('form', { class: 'choix' }, dateLabel, date, el('button', { type: 'submit', id: 'publier' }, `Publier ${label}`), told);
  onSubmit(form, async (data) => {
    const on = data.get('on');
    const sure = await confirmAct({
      title: `Publier ${label}${NNBSP}?`,
      consequences: [`${run.invoices > 1 ? `Les ${run.invoices} factures` : 'La facture'} de ${label} (${euros(run.total)}) ${run.invoices > 1 ? 'seront visibles' : 'sera visible'} par les familles le ${frenchDate(on)}, et chaque responsable recevra un e-mail ce jour-là.`],
      confirm: `Publier ${label}`,
    });
    if (!sure) return;
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/publish`, { method: 'POST', csrf: me.csrf_token, body: { on } });
      } while (done.remaining > 0);
      await previewBilling(ctx);
      await loadRuns(ctx);
      const state = document.getElementById('etat-facturation');
      state.tabIndex = -1;
      state.focus();
    } catch (problem) { told.textContent = problemText(problem); told.focus(); }
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
    el('td', { 'data-label': 'État' }, runState(r)),
    el('td', { 'data-label': 'Prélèvements' }, ...(ctx.config?.billing?.direct_debit ? debitActions(r, me) : ['—'])),
    el('td', { 'data-label': 'Trésor public' }, ...(ctx.config?.billing?.helios ? pesActions(r, me, loadPesFiles) : ['—']))));
  document.getElementById('liste-facturations').replaceChildren(runs.length
    ? el('table', { class: 'lignes' }, el('caption', {}, 'Facturations'),
      el('thead', {}, el('tr', {}, ...['Mois', 'Factures', 'Montant', 'État', 'Prélèvements', 'Trésor public'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows))
    : el('p', {}, 'Aucun mois facturé.'));
  if (ctx.config?.billing?.helios) await loadPesFiles();
  if (ctx.config?.billing?.tax_certificate) startCertificates(me);
}
