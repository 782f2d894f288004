// « Mes factures »: the current month so far and as booked to its end, line by line, by the
// rules the invoice will use (each line names the rule that priced it).
import { api, say, linkTown, session, el, euros, frenchDate } from './portail.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);

/** A bill's lines as a table: child, service, dates, rule, quantity, amount. */
function table(bill, names, caption) {
  if (bill.lines.length === 0) return el('p', {}, 'Aucune prestation ce mois-ci.');
  const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);
  return el('table', { class: 'lignes' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...['Enfant', 'Prestation', 'Dates', 'Tarif appliqué', 'Quantité', 'Montant'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...bill.lines.map((l) => el('tr', {},
      cell('Enfant', names.get(l.child) || l.child),
      cell('Prestation', l.unit_name),
      cell('Dates', l.dates_text),
      cell('Tarif appliqué', l.rule),
      cell('Quantité', String(l.quantity)),
      cell('Montant', euros(l.amount))))),
    el('tfoot', {}, el('tr', {}, el('th', { scope: 'row', colspan: '5' }, 'Total'), el('td', { class: 'montant' }, euros(bill.total)))));
}

async function show() {
  const box = document.getElementById('mois');
  try {
    const children = await api('/calendar/children');
    const names = new Map(children.map((c) => [c.id, c.first_name]));
    const months = [];
    for (const family of me.families) {
      const m = await api(`/families/${encodeURIComponent(family)}/invoices/current`);
      const label = m.label.charAt(0).toUpperCase() + m.label.slice(1);
      const id = `titre-mois-${months.length}`;
      months.push(el('section', { 'aria-labelledby': id },
        el('h2', { id }, `${label} (en cours)`),
        el('p', { class: 'resume' }, `${label}, à ce jour : ${euros(m.so_far.total)} ; prévu jusqu'à la fin du mois : ${euros(m.forecast.total)}.`),
        el('p', { class: 'aide' }, 'Montants calculés d\'après vos réservations et la présence relevée à ce jour, aux tarifs de la commune. La facture est établie après la fin du mois.'),
        table(m.forecast, names, `${label} : prévu jusqu'à la fin du mois`)));
    }
    box.replaceChildren(...months);
    await showInvoices(names);
  } catch (problem) { say(message, problem.title, true); }
}

/** The families' invoices (the last twelve of each), each with its lines on demand. */
async function showInvoices(names) {
  const shown = [];
  for (const family of me.families) {
    const invoices = (await api(`/families/${encodeURIComponent(family)}/invoices`)).slice(0, 12);
    for (const i of invoices) {
      const label = i.label.charAt(0).toUpperCase() + i.label.slice(1);
      const details = el('details', { class: 'facture' },
        el('summary', {}, `Facture n° ${i.number} – ${label} – ${euros(i.total)} – à régler avant le ${frenchDate(i.due_on)}`));
      details.addEventListener('toggle', async () => {
        if (!details.open || details.dataset.loaded) return;
        details.dataset.loaded = 'oui';
        const invoice = await api(`/families/${encodeURIComponent(family)}/invoices/${encodeURIComponent(i.month)}`);
        details.append(table(invoice, names, `Facture n° ${invoice.number} : ${label}`));
      });
      shown.push(details);
    }
  }
  const none = el('p', {}, "Aucune facture n'a encore été émise en ligne. Les factures précédentes vous ont été adressées par la mairie.");
  document.getElementById('factures').replaceChildren(...(shown.length ? shown : [none]));
}

if (me) show();
