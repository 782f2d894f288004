// « Mes factures »: what is due first (the published invoices, those to pay at the top, with
// the amount left and the date), then the current month so far and as booked to its end, line by
// line, by the rules the invoice will use (each line names the rule that priced it). Each block
// has its room before it fills in (no layout shift). The invoices come with their status, lines, PDF, credit notes, payments and their receipts,
// « Payer en ligne » (PayFiP), and a form to contest a line. Back from PayFiP, the page says how
// the payment went, as the portal heard it from PayFiP itself (never from the address).
import { api, say, linkTown, session, el, euros, frenchDate, town, onSubmit, field, uid, problemText } from './portail.js';
import { frTree } from './typo.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);

/** A bill's lines as a table: child, service, dates, rule, quantity, amount; then its aids, deducted. */
function table(bill, names, caption) {
  if (bill.lines.length === 0) return el('p', {}, 'Aucune prestation ce mois-ci.');
  const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);
  return el('table', { class: 'lignes' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...['Enfant', 'Prestation', 'Dates', 'Tarif appliqué', 'Quantité', 'Montant'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...bill.lines.map((l) => el('tr', {},
      cell('Enfant', l.child_name || names.get(l.child) || l.child),
      cell('Prestation', l.unit_name),
      cell('Dates', l.dates_text),
      cell('Tarif appliqué', l.rule),
      cell('Quantité', String(l.quantity)),
      cell('Montant', euros(l.amount)))),
      // Each aid its own line, deducted: « Aide CAF temps libres : −3,00 € × 4 jours ».
      ...(bill.aids || []).map((a) => el('tr', { class: 'aide-deduite' },
        cell('Enfant', a.child_name || names.get(a.child) || a.child),
        cell('Prestation', a.unit_name),
        cell('Dates', a.dates_text),
        cell('Tarif appliqué', a.label),
        cell('Quantité', String(a.quantity)),
        cell('Montant', `−${euros(a.amount)}`)))),
    el('tfoot', {}, el('tr', {}, el('th', { scope: 'row', colspan: '5' }, 'Total'), el('td', { class: 'montant' }, euros(bill.total)))));
}

async function show() {
  const box = document.getElementById('mois');
  try {
    const children = await api('/calendar/children');
    const names = new Map(children.map((c) => [c.id, c.first_name]));
    const invoices = showInvoices(names);
    const months = [];
    for (const family of me.families) {
      const m = await api(`/families/${encodeURIComponent(family)}/invoices/current`);
      const label = m.label.charAt(0).toUpperCase() + m.label.slice(1);
      const id = `titre-mois-${months.length}`;
      months.push(el('section', { 'aria-labelledby': id },
        el('h2', { id }, `${label} (en cours)`),
        el('p', { class: 'resume' }, `${label}, à ce jour : ${euros(m.so_far.total)} ; prévu jusqu’à la fin du mois : ${euros(m.forecast.total)}.`),
        el('p', { class: 'aide' }, 'Montants calculés d’après vos réservations et la présence relevée à ce jour, aux tarifs de la commune. La facture est établie après la fin du mois.'),
        table(m.forecast, names, `${label} : prévu jusqu’à la fin du mois`)));
    }
    // The server's words (the rules, the dates) written the French way too.
    box.replaceChildren(...months.map(frTree));
    await invoices;
  } catch (problem) { say(message, problem.title, true); }
  // The month and the rest appear below the invoices once those are drawn, rather than being
  // pushed down by them (the layout shift Lighthouse measured: 0.61 on a phone).
  box.hidden = false;
  document.getElementById('suite').hidden = false;
}

/** One invoice opened: its lines, credit notes, contests, the PDF and the contest form. */
function invoiceDetail(family, invoice, names, label, details) {
  const enc = encodeURIComponent;
  const pdf = el('a', { href: `/api/towns/${enc(town)}/families/${enc(family)}/invoices/${enc(invoice.month)}/pdf`, download: `facture-${invoice.number}.pdf` },
    `Télécharger la facture n° ${invoice.number} (PDF)`);
  const parts = [table(invoice, names, `Facture n° ${invoice.number} : ${label}`), el('p', {}, pdf)];
  const deductions = invoice.deductions || [];
  if (deductions.length) {
    parts.push(el('h3', {}, 'Déductions'), el('ul', {}, ...deductions.map((d) => el('li', {}, `${d.label} : −${euros(d.amount)}`))));
  }
  if (invoice.credit_notes.length) {
    parts.push(el('h3', {}, 'Avoirs'), el('ul', {}, ...invoice.credit_notes.map((n) => el('li', {},
      `Avoir n° ${n.number} du ${frenchDate(n.issued_on)} : −${euros(n.total)} (${n.reason}). ${n.destination}.`))));
  }
  if (invoice.payments.length) {
    // Each payment as the server words it (a direct debit is « à prélever » until its day, and
    // has a receipt only once collected).
    parts.push(el('h3', {}, 'Paiements'), el('ul', {}, ...invoice.payments.map((p) => el('li', {},
      p.label,
      ...(p.collected ? [' – ', el('a', { href: `/api/towns/${enc(town)}/families/${enc(family)}/payments/${enc(p.number)}/pdf`, download: `quittance-${p.number}.pdf` },
        `quittance n° ${p.number} (PDF)`)] : [])))));
  }
  if (invoice.credit_notes.length || invoice.payments.length || deductions.length) {
    parts.push(el('p', { class: 'resume' }, `Reste à payer : ${euros(invoice.left_to_pay)}`));
  }
  parts.push(...payment(family, invoice));
  const answer = (c) => {
    if (c.status === 'accepted') return `acceptée : avoir n° ${c.credit_note} de ${euros(c.amount)}`;
    if (c.status === 'refused') return `non retenue : ${c.reason}`;
    return 'en attente de réponse du service';
  };
  if (invoice.contests.length) {
    parts.push(el('h3', {}, 'Mes contestations'), el('ul', {}, ...invoice.contests.map((c) => el('li', {},
      `${c.line_text} — ${answer(c)}`))));
  }
  if (invoice.status !== 'cancelled') parts.push(contestForm(family, invoice, names, details));
  return parts;
}

/** How to pay what is left: « Payer en ligne », or why not. */
function payment(family, invoice) {
  if (invoice.status === 'transmitted') {
    return [el('p', { class: 'resume' }, 'Cette facture a été transmise au Trésor public : réglez-la auprès de lui, comme indiqué sur l’avis qu’il vous adresse.')];
  }
  const debit = invoice.direct_debit ? [el('p', { class: 'resume' }, `${invoice.direct_debit}.`)] : [];
  if (debit.length && !invoice.payable_online) return debit;
  if (invoice.payment_in_progress) {
    return [el('p', { class: 'resume' }, 'Paiement en ligne en cours : PayFiP ne l’a pas encore confirmé. Cette page sera à jour dans quelques minutes.')];
  }
  if (!invoice.payable_online) return [];
  const region = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: '' });
  const button = el('button', { type: 'button' }, `Payer en ligne ${euros(invoice.left_to_pay)}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const started = await api(`/families/${encodeURIComponent(family)}/invoices/${encodeURIComponent(invoice.month)}/payfip`, {
        method: 'POST', csrf: me.csrf_token, body: {},
      });
      say(region, 'Redirection vers le paiement sécurisé PayFiP (DGFiP)…');
      location.assign(started.url);
    } catch (problem) {
      button.disabled = false;
      say(region, problemText(problem), true);
    }
  });
  return [...debit, el('div', { class: 'paiement' },
    el('p', {}, 'Par carte bancaire, sur le service sécurisé PayFiP de la Direction générale des Finances publiques.'),
    button, region)];
}

/** What the return from PayFiP says, as the portal heard it from PayFiP. */
const RETURNS = {
  paid: ['Votre paiement est enregistré. Merci ! Sa quittance est dans la facture et vous est envoyée par e-mail.', false],
  pending: ['Votre paiement est en cours de confirmation par PayFiP : la facture sera à jour dans quelques minutes.', false],
  cancelled: ['Paiement abandonné : la facture reste à payer.', true],
  refused: ['Paiement refusé : la facture reste à payer. Vous pouvez réessayer ou la régler à la régie.', true],
  expired: ['Le paiement n’a pas abouti : la facture reste à payer.', true],
  anomaly: ['Ce paiement doit être vérifié par la régie, qui reviendra vers vous.', true],
};

/** « Contester une ligne »: the line, the days of it (all by default), why; the answer comes by
 * email. */
function contestForm(family, invoice, names, details) {
  const region = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: '' });
  const selectId = uid('ligne');
  const select = el('select', { id: selectId, name: 'line' }, ...invoice.lines.map((l, i) => el('option', { value: String(i) },
    `${l.child_name || names.get(l.child) || l.child} – ${l.unit_name} (${l.dates_text}) – ${euros(l.amount)}`)));
  // The line's days, to contest one or some of them (« Cantine 2, 3, 5, 6 et 30/11 »).
  const days = el('fieldset', { class: 'jours-contestes' });
  const showDays = () => {
    const dates = invoice.lines[Number(select.value)]?.dates || [];
    days.hidden = dates.length < 2;
    days.replaceChildren(el('legend', {}, 'Jours contestés (tous, si aucun n’est coché)'),
      ...dates.map((d) => el('label', { class: 'en-ligne' }, el('input', { type: 'checkbox', name: 'days', value: d }), ` ${frenchDate(d)}`)));
  };
  select.addEventListener('change', showDays);
  showDays();
  const [label, text] = field('Ce qui ne va pas', { name: 'message', rows: 3, maxlength: 1000, required: '' });
  const form = el('form', { class: 'contestation' },
    el('h3', {}, 'Contester une ligne'),
    el('label', { for: selectId }, 'Ligne'), select, days, label, text,
    el('button', { type: 'submit' }, 'Envoyer ma contestation'), region);
  onSubmit(form, async (data) => {
    try {
      await api(`/families/${encodeURIComponent(family)}/invoices/${encodeURIComponent(invoice.month)}/contests`, {
        method: 'POST', csrf: me.csrf_token, body: { line: Number(data.get('line')), days: data.getAll('days'), message: data.get('message') },
      });
      say(region, 'Votre contestation est transmise au service. Sa réponse vous parviendra par e-mail.');
      text.value = '';
      await reload(family, invoice.month, names, details);
    } catch (problem) { say(region, problemText(problem), true); }
  });
  return form;
}

/** Fills (or refills) an opened invoice. */
async function reload(family, month, names, details) {
  const invoice = await api(`/families/${encodeURIComponent(family)}/invoices/${encodeURIComponent(month)}`);
  const label = invoice.label.charAt(0).toUpperCase() + invoice.label.slice(1);
  const keep = details.querySelector('summary');
  const message = details.querySelector('.contestation .message:not([hidden])');
  details.replaceChildren(keep, ...invoiceDetail(family, invoice, names, label, details).map(frTree));
  if (message) {
    const region = details.querySelector('.contestation .message');
    say(region, message.textContent, message.classList.contains('erreur'));
  }
}

/** The families' invoices (the last twelve of each), each with its lines on demand. */
async function showInvoices(names) {
  const shown = [];
  const toPay = [];
  for (const family of me.families) {
    const invoices = (await api(`/families/${encodeURIComponent(family)}/invoices`)).slice(0, 12);
    // What is due first, the latest first among the rest.
    const dueFirst = (i) => (i.status === 'late' ? 0 : i.status === 'due' ? 1 : 2);
    invoices.sort((a, b) => dueFirst(a) - dueFirst(b));
    for (const i of invoices) {
      const label = i.label.charAt(0).toUpperCase() + i.label.slice(1);
      // Under a mandate the page says when it is debited (the due date is that day): nothing to settle.
      const debited = i.direct_debit && i.status !== 'late' && i.status !== 'due';
      const planned = (i.direct_debit || '').startsWith('Prélèvement prévu');
      const due = !planned && (i.status === 'due' || i.status === 'late') ? ` – à régler avant le ${frenchDate(i.due_on)}` : '';
      const status = i.payment_in_progress ? 'Paiement en cours' : (debited || planned ? i.direct_debit : i.status_label);
      const details = el('details', { class: 'facture' },
        el('summary', {}, `Facture n° ${i.number} – ${label} – ${euros(i.total)} – ${status}${due}${i.titre ? ` – ${i.titre}` : ''}`));
      details.addEventListener('toggle', async () => {
        if (!details.open || details.dataset.loaded) return;
        details.dataset.loaded = 'oui';
        try { await reload(family, i.month, names, details); } catch (problem) { say(message, problem.title, true); }
      });
      shown.push(details);
      if (!planned && (i.status === 'due' || i.status === 'late')) toPay.push(`facture n° ${i.number} avant le ${frenchDate(i.due_on)}`);
      if (returned && returned.get('mois') === i.month) details.open = true;
    }
  }
  const none = el('p', {}, "Aucune facture n’a encore été émise en ligne. Les factures précédentes vous ont été adressées par la mairie.");
  document.getElementById('factures').replaceChildren(...(shown.length ? shown : [none]).map(frTree));
  document.getElementById('a-regler').textContent = toPay.length
    ? `À régler\u202f: ${toPay.join('\u202f; ')}.` : 'Aucune facture à régler.';
  showCertificates();
}

/** The tax certificate for childcare of last year, per family (from 1 January). */
function showCertificates() {
  const box = document.getElementById('attestations');
  if (!box) return;
  const year = Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric' }).format(new Date())) - 1;
  box.replaceChildren(...me.families.map((family) => el('p', {},
    el('a', { href: `/api/towns/${encodeURIComponent(town)}/families/${encodeURIComponent(family)}/tax-certificates/${year}/pdf`, download: `attestation-fiscale-${year}.pdf` },
      `Télécharger l’attestation fiscale ${year} (PDF)`))));
}

const returned = new URLSearchParams(location.search).has('paiement') ? new URLSearchParams(location.search) : null;
if (me) {
  const said = returned && RETURNS[returned.get('paiement')];
  if (said) say(message, said[0], said[1]);
  show();
}
