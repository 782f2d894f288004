// A cell's details under the grid: state, price, deadlines, what a late change costs and whom to
// call, the booking's history.
import { api, el, euros, frenchDate, frenchInstant, town } from '../portail.js';
import { BOOKING_STATUSES } from '../libelles.js';
import { stateLabel, frozen } from './cellules.js';
import { state, selectedChoice, selectedChild, basketLine } from './etat.js';

/** How to reach the service of the grid shown, for a change past its deadline: the activity's
 * own contact when the town gives one (the leisure centre's office), else the régie's. */
let townConfig = null;
async function contactLine() {
  if (townConfig === null) {
    townConfig = await fetch(`/api/towns/${encodeURIComponent(town)}`).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  }
  const activity = townConfig.activities?.find((a) => a.id === selectedChoice().activity);
  const c = activity?.contact || (townConfig.billing && { ...townConfig.billing, name: townConfig.billing.regie });
  const line = c ? [c.name, c.phone && `téléphone ${c.phone}`, c.email, c.hours].filter(Boolean).join(' – ') : '';
  return line ? `Contactez le service : ${line}.` : 'Contactez le service.';
}

/** The history of the cell's booking, one sentence per change, oldest first. */
async function bookingHistory(row, cell) {
  const child = selectedChild();
  try {
    const bookings = await api(`/families/${encodeURIComponent(child.family)}/bookings?from=${cell.date}&to=${cell.date}&child=${encodeURIComponent(child.id)}`);
    const booking = bookings.find((b) => b.unit === row.unit && b.date === cell.date);
    return (booking?.history || []).map((h) => [
      frenchInstant(h.at),
      h.from ? `${BOOKING_STATUSES[h.from] || h.from} → ${BOOKING_STATUSES[h.to] || h.to}` : BOOKING_STATUSES[h.to] || h.to,
      h.role === 'staff' ? 'par le service' : `par ${h.by}`,
      h.late ? 'hors délai' : '',
      h.price !== undefined ? euros(h.price) : '',
    ].filter(Boolean).join(' – '));
  } catch { return []; }
}

/** The details of one cell, under the grid: its state and reason, until when it can be booked or
 * cancelled, its price, and what a change past the deadline costs and how to ask for it. */
export async function showDetails(row, cell, button) {
  const panel = document.getElementById('detail-cellule');
  const line = basketLine(row.unit, cell.date);
  const items = [`État : ${stateLabel(cell)}${line ? ` ; dans votre panier : ${line.action === 'add' ? 'réservation' : 'annulation'} à valider` : ''}.`];
  const price = cell.action?.kind === 'add' ? cell.action.price : cell.price;
  if (price !== undefined) items.push(`Prix : ${euros(price)}.`);
  const booked = ['pending', 'confirmed', 'absence_reported'].includes(cell.state);
  if (cell.add_deadline && !booked) items.push(`Réservation en ligne jusqu’au ${frenchInstant(cell.add_deadline)}.`);
  if (cell.cancel_deadline && (booked || cell.action?.kind === 'add')) items.push(`Annulation sans frais jusqu’au ${frenchInstant(cell.cancel_deadline)}.`);
  let late = false;
  if (!cell.action && cell.state === 'locked' && cell.reason === 'deadline_passed') {
    late = true;
    items.push(cell.late_add_price !== undefined
      ? `Délai dépassé : seul le service peut encore inscrire votre enfant, au prix de ${euros(cell.late_add_price)}.`
      : 'Délai dépassé : ce jour ne se réserve plus.');
  }
  if (frozen(cell)) {
    late = true;
    items.push(cell.late_cancel_price !== undefined
      ? `Délai d’annulation dépassé : la réservation reste due ; une annulation par le service est facturée ${euros(cell.late_cancel_price)}.`
      : "Délai d’annulation dépassé : la réservation ne se modifie plus en ligne.");
  }
  if (late) items.push(await contactLine());
  // Any day that was ever booked keeps its history, a cancelled one (« Réservable » again) too.
  const history = cell.state === 'not_offered' ? [] : await bookingHistory(row, cell);
  const close = el('button', { type: 'button', class: 'secondaire petit' }, 'Fermer');
  close.addEventListener('click', () => { panel.hidden = true; button.focus(); });
  const parts = [el('h3', { id: 'titre-detail', tabindex: '-1' }, `${row.name} – ${frenchDate(cell.date)}`),
    el('ul', {}, ...items.map((t) => el('li', {}, t)))];
  if (history.length) parts.push(el('h4', {}, 'Historique'), el('ol', { class: 'historique' }, ...history.map((t) => el('li', {}, t))));
  panel.replaceChildren(...parts, close);
  panel.hidden = false;
  state.detailsFor = `${selectedChild().id}|${selectedChoice().activity}`;
  panel.scrollIntoView({ block: 'nearest' });
  document.getElementById('titre-detail').focus({ preventScroll: true });
}
