// « Encaissements et impayés » in the Espace mairie: what families still owe, by age, with the
// CSV; a payment received at the desk (cash, cheque, CESU, chèques-vacances, transfer), partial
// or whole, its receipt emailed to the family; for the administrator, handing a late invoice to
// the Trésor public, and the PayFiP payments whose details did not match their invoice; a
// family's SEPA mandate (on its record), the month's debits and their pain.008 file.
import { api, el, town, frenchDate, frenchInstant, euros, problemText, field, uid } from './portail.js';
import { confirmAct } from './mairie/confirmer.js';

const METHODS = [['cheque', 'Chèque'], ['cash', 'Espèces'], ['cesu', 'CESU'], ['cheques_vacances', 'Chèques-vacances'], ['transfer', 'Virement']];

/** Euros typed the French way (« 12,50 ») in cents, or NaN. */
function cents(text) {
  return Math.round(Number(text.replace(/\s/g, '').replace(',', '.')) * 100);
}

/** The form that records a payment on one invoice. */
function counterForm(row, me, today, reload) {
  const selectId = uid('mode');
  const select = el('select', { id: selectId, name: 'method' }, ...METHODS.map(([v, l]) => el('option', { value: v }, l)));
  const [amountLabel, amount] = field('Montant reçu (€)', { name: 'amount', inputmode: 'decimal', required: '', value: (row.left_to_pay / 100).toFixed(2).replace('.', ',') });
  // The portal's today (the town's), not the computer's.
  const [dateLabel, date] = field('Reçu le', { name: 'received_on', type: 'date', required: '', min: row.issued_on, max: today });
  date.value = today;
  const [numberLabel, number] = field('N° du chèque', { name: 'cheque_number', maxlength: 100 });
  const [detailsLabel, details] = field('Précisions (banque, référence du virement…)', { name: 'details', maxlength: 200 });
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  const form = el('form', { class: 'encaissement' },
    el('label', { for: selectId }, 'Mode de paiement'), select, amountLabel, amount, dateLabel, date,
    numberLabel, number, detailsLabel, details,
    el('button', { type: 'submit' }, 'Enregistrer le paiement'), told);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    const body = { method: select.value, amount: cents(amount.value), received_on: date.value };
    if (number.value.trim()) body.cheque_number = number.value;
    if (details.value.trim()) body.details = details.value;
    try {
      const p = await api(`/staff/invoices/families/${encodeURIComponent(row.family)}/${encodeURIComponent(row.month)}/payments`, { method: 'POST', csrf: me.csrf_token, body });
      told.textContent = `Paiement de ${euros(p.amount)} enregistré : quittance n° ${p.number}, envoyée à la famille.`;
      await reload(told.textContent);
    } catch (problem) { told.textContent = problemText(problem); button.disabled = false; }
  });
  return form;
}

/** « Transmettre au Trésor public » (administrator, an invoice past its due date). */
function transmitButton(row, me, reload) {
  const button = el('button', { type: 'button', class: 'secondaire' }, 'Transmettre au Trésor public',
    el('span', { class: 'visually-hidden' }, ` : facture n° ${row.number}`));
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api(`/staff/invoices/families/${encodeURIComponent(row.family)}/${encodeURIComponent(row.month)}/transmit`, { method: 'POST', csrf: me.csrf_token });
      await reload(`Facture n° ${row.number} transmise au Trésor public.`);
    } catch (problem) { told.textContent = problemText(problem); button.disabled = false; }
  });
  return [button, told];
}

/** The unpaid list, by age, each invoice with « Encaisser ». */
export async function loadUnpaid(me, said = '') {
  const box = document.getElementById('liste-impayes');
  const list = await api('/staff/invoices/unpaid');
  const reload = (text) => loadUnpaid(me, text);
  const summary = el('ul', { class: 'anciennete' }, ...list.brackets.map((b) => el('li', {}, `${b.label}\u202f: ${b.count} ${b.count > 1 ? 'factures' : 'facture'}, ${euros(b.left_to_pay)}`)));
  const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/unpaid?format=csv`, download: '' }, 'Exporter les impayés (CSV)');
  const rows = list.invoices.map((row) => {
    const open = el('details', { class: 'encaisser' },
      el('summary', {}, 'Encaisser', el('span', { class: 'visually-hidden' }, ` : ${row.family_name}, facture n° ${row.number}`)),
      counterForm(row, me, list.today, reload));
    const actions = [open];
    if (me.role === 'town_admin' && row.days_late > 0) actions.push(...transmitButton(row, me, reload));
    const state = row.payment_in_progress ? 'Paiement en ligne en cours' : row.age_label;
    return el('tr', {},
      el('td', { 'data-label': 'Famille' }, row.family_name || row.family),
      el('td', { 'data-label': 'Facture' }, `n° ${row.number} (${row.label})`),
      el('td', { 'data-label': 'Échéance' }, frenchDate(row.due_on)),
      el('td', { 'data-label': 'Retard' }, state),
      el('td', { 'data-label': 'Reste à payer' }, euros(row.left_to_pay)),
      el('td', { 'data-label': 'Actions' }, ...actions));
  });
  const told = el('p', { role: 'status', 'aria-live': 'polite' }, said);
  box.replaceChildren(told, summary, el('p', {}, `Total restant dû : ${euros(list.total)}. `, csv), rows.length
    ? el('table', { class: 'lignes' }, el('caption', {}, 'Factures restant à payer, les plus anciennes d\'abord'),
      el('thead', {}, el('tr', {}, ...['Famille', 'Facture', 'Échéance', 'Retard', 'Reste à payer', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows))
    : el('p', {}, 'Aucune facture impayée.'));
}

/** PayFiP payments whose details did not match their invoice (administrator). */
export async function loadAnomalies() {
  const ops = await api('/staff/invoices/payfip/anomalies');
  const box = document.getElementById('anomalies-payfip');
  box.replaceChildren(el('h3', {}, 'Paiements en ligne à vérifier'), ops.length
    ? el('ul', {}, ...ops.map((o) => el('li', {},
      `${frenchInstant(o.at)} – facture n° ${o.invoice} (${o.family}) : PayFiP indique un paiement qui ne correspond pas (${o.reason}). Rien n'a été enregistré ; opération PayFiP ${o.idop}.`)))
    : el('p', {}, 'Aucun paiement en ligne à vérifier.'));
}

/** A family's SEPA mandate: shown (IBAN masked), entered from the signed form, or ended. */
export async function mandateBlock(reference, me) {
  const box = el('div', { class: 'mandat' });
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  const show = async (said = '') => {
    const account = await api(`/staff/invoices/families/${encodeURIComponent(reference)}`);
    const m = account.mandate;
    const current = m
      ? el('p', {}, `Mandat ${m.rum} signé le ${frenchDate(m.signed_on)} par ${m.holder}, compte ${m.account} (prochain prélèvement : ${m.sequence === 'FRST' ? 'premier' : 'récurrent'}).`)
      : el('p', {}, 'Pas de mandat de prélèvement : la famille paie en ligne ou à la régie.');
    const [rumLabel, rum] = field('Référence unique du mandat (RUM)', { name: 'rum', required: '', maxlength: 35 });
    const [ibanLabel, iban] = field('IBAN', { name: 'iban', required: '', maxlength: 50, autocomplete: 'off' });
    const [bicLabel, bic] = field('BIC (facultatif)', { name: 'bic', maxlength: 11 });
    const [holderLabel, holder] = field('Titulaire du compte', { name: 'holder', required: '', maxlength: 70 });
    const [signedLabel, signed] = field('Signé le', { name: 'signed_on', type: 'date', required: '' });
    const form = el('form', { class: 'encaissement' }, el('h4', {}, m ? 'Remplacer le mandat' : 'Enregistrer un mandat signé'),
      rumLabel, rum, ibanLabel, iban, bicLabel, bic, holderLabel, holder, signedLabel, signed,
      el('button', { type: 'submit' }, 'Enregistrer le mandat'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { rum: rum.value, iban: iban.value, holder: holder.value, signed_on: signed.value };
      if (bic.value.trim()) body.bic = bic.value;
      try {
        const saved = await api(`/staff/invoices/families/${encodeURIComponent(reference)}/mandate`, { method: 'PUT', csrf: me.csrf_token, body });
        await show(`Mandat ${saved.rum} enregistré (compte ${saved.account}).`);
      } catch (problem) { told.textContent = problemText(problem); }
    });
    const parts = [el('h4', {}, 'Prélèvement SEPA'), current];
    if (m) {
      const end = el('button', { type: 'button', class: 'secondaire' }, 'Mettre fin au mandat');
      end.addEventListener('click', async () => {
        try {
          await api(`/staff/invoices/families/${encodeURIComponent(reference)}/mandate`, { method: 'DELETE', csrf: me.csrf_token });
          await show('Mandat terminé.');
        } catch (problem) { told.textContent = problemText(problem); }
      });
      parts.push(end);
    }
    told.textContent = said;
    box.replaceChildren(...parts, form, told);
  };
  await show();
  return box;
}

/** « Prélever » a billed month (administrator; `run` from the runs' list), asked first, and its
 * file for the bank. */
export function debitActions(run, me) {
  const { month, label } = run;
  const told = el('span', { role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'secondaire' }, 'Prélever', el('span', { class: 'visually-hidden' }, ` ${label}`));
  const file = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/runs/${encodeURIComponent(month)}/debits`, download: '' }, `Fichier de prélèvement ${label} (pain.008)`);
  button.addEventListener('click', async () => {
    const sure = await confirmAct({
      title: `Prélever ${label}\u202f?`,
      consequences: [
        `Les factures de ${label} des familles sous mandat SEPA seront prélevées à leur échéance, chacune une fois${'\u202f'}; chaque famille reçoit un e-mail qui annonce le montant et la date.`,
        'Le fichier de prélèvement (pain.008) est ensuite à déposer à la banque.',
      ],
      confirm: `Prélever ${label}`,
    });
    if (!sure) return;
    button.disabled = true;
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/debits`, { method: 'POST', csrf: me.csrf_token });
      } while (done.remaining > 0 && done.debited > 0);
      told.textContent = ` ${done.total} ${done.total > 1 ? 'factures prélevées' : 'facture prélevée'} pour ${label}.`;
    } catch (problem) { told.textContent = ` ${problemText(problem)}`; }
    button.disabled = false;
  });
  return [button, ' ', file, told];
}
