// « Régularisations à traiter » in « Espace mairie »: what changed after a month was billed, and
// the credit notes carried to a family's next invoice. Every staff member reads the queue; the
// administrator issues a régularisation as a credit note at once, or marks a carried amount
// refunded by the régie.
import { api, el, euros, frenchDate, problemText } from './portail.js';

/** The open régularisations, oldest first, each with what the administrator can do. */
export async function loadRegularisations(me) {
  const box = document.getElementById('liste-regularisations');
  const queue = await api('/staff/invoices/regularisations');
  if (!queue.length) { box.replaceChildren(el('p', {}, 'Aucune régularisation en attente.')); return; }
  const enc = encodeURIComponent;
  const rows = queue.map((r) => {
    const told = el('span', { role: 'status', 'aria-live': 'polite' });
    const actions = [];
    const act = async (button, path, said) => {
      button.disabled = true;
      try {
        const done = await api(`/staff/invoices/regularisations/${enc(r.family)}/${enc(r.id)}/${path}`, { method: 'POST', csrf: me.csrf_token });
        told.textContent = said(done);
      } catch (problem) { told.textContent = problemText(problem); button.disabled = false; }
    };
    if (me.role === 'town_admin' && r.delta < 0) {
      if (r.kind === 'booking' && r.invoice) {
        const credit = el('button', { type: 'button', class: 'secondaire' }, 'Émettre un avoir', el('span', { class: 'visually-hidden' }, ` : ${r.label}`));
        credit.addEventListener('click', () => act(credit, 'credit-note', (n) => `Avoir n° ${n.number} émis ; la famille est prévenue.`));
        actions.push(credit);
      }
      const refund = el('button', { type: 'button', class: 'secondaire' }, 'Remboursé', el('span', { class: 'visually-hidden' }, ` : ${r.label}`));
      refund.addEventListener('click', () => act(refund, 'refund', () => `Remboursement noté.`));
      actions.push(refund);
    }
    const amount = r.delta < 0 ? `−${euros(r.left)} (à rendre)` : `${euros(r.left)} (à facturer)`;
    return el('tr', {},
      el('td', { 'data-label': 'Famille' }, r.family_name || r.family),
      el('td', { 'data-label': 'Régularisation' }, r.label),
      el('td', { 'data-label': 'Depuis le' }, frenchDate(r.at.slice(0, 10))),
      el('td', { 'data-label': 'Montant' }, amount),
      el('td', { 'data-label': 'Action' }, ...(actions.length ? actions : ['Prochaine facture']), told));
  });
  box.replaceChildren(el('table', { class: 'lignes' }, el('caption', {}, 'Régularisations à traiter'),
    el('thead', {}, el('tr', {}, ...['Famille', 'Régularisation', 'Depuis le', 'Montant', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)));
}

/** A family's account in its records: balance, invoices, and each credit note with where its
 * money went. */
export async function accountBlock(reference) {
  const account = await api(`/staff/invoices/families/${encodeURIComponent(reference)}`);
  const b = account.balance.balance;
  const balance = b < 0 ? `la régie doit ${euros(-b)} à la famille` : `reste à payer ${euros(b)}`;
  const parts = [el('h4', {}, 'Compte de la famille'), el('p', { class: 'resume' }, `Solde : ${balance}.`)];
  if (account.invoices.length) {
    parts.push(el('ul', {}, ...account.invoices.slice(0, 12).map((i) => el('li', {},
      `Facture n° ${i.number} (${i.label}) : ${euros(i.total)}, ${i.status_label}, reste à payer ${euros(i.left_to_pay)}`))));
  }
  if (account.credit_notes.length) {
    parts.push(el('h5', {}, 'Avoirs'), el('ul', {}, ...account.credit_notes.slice(0, 12).map((n) => el('li', {},
      `Avoir n° ${n.number} du ${frenchDate(n.issued_on)} (facture n° ${n.corrects}) : −${euros(n.total)}. ${n.destination}.`))));
  }
  return el('section', { class: 'fiche', 'aria-label': 'Compte de la famille' }, ...parts);
}
