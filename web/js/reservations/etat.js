// The state of « Mes réservations » shared by its parts (the entry fills it), and the small
// helpers that read it.
import { say, el, euros, town } from '../portail.js';
import { plural, fr } from '../typo.js';

/** What the page shows: the children and their services, the first week shown, the basket, the
 * grid, and whose details are open. */
export const state = { children: [], choices: [], monday: null, basket: null, grid: null, detailsFor: null };

export function mondayOf(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}
export function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export const selectedChoice = () => state.choices[Number(document.getElementById('service').value)];
export const selectedChild = () => state.children.find((c) => c.id === document.getElementById('enfant').value);

export function basketLine(unit, date) {
  const child = selectedChild();
  return state.basket?.lines.find((l) => l.child === child.id && l.unit === unit && l.date === date);
}

/** Says `text` in `region` and brings it into view (a phone shows a small part of the page). */
export function sayHere(region, text, error = false) {
  say(region, fr(text), error);
  region.scrollIntoView({ block: 'nearest' });
}

/** The basket's count and total, in the menu and in the bar at the bottom of the screen. */
export function showBasket() {
  const n = state.basket?.lines.length || 0;
  document.getElementById('compteur').textContent = n ? `(${n})` : '';
  document.getElementById('resume-panier').textContent = n
    ? `Mon panier : ${plural(n, 'ligne')} · ${euros(state.basket.total)}`.replace(' :', '\u202f:')
    : 'Votre panier est vide.';
}

/** Says `text` in `region`, followed by the next step: a link to the basket. */
export function sayWithBasket(region, text) {
  say(region, fr(text));
  region.append(' ', el('a', { href: `panier.html?commune=${encodeURIComponent(town)}` }, 'Voir mon panier et le valider'));
  region.scrollIntoView({ block: 'nearest' });
}

/** Clears the answers of the page's forms: they no longer apply once the child, the service or
 * the view changes. */
export function clearAnswers() {
  for (const id of ['message', 'message-grille', 'message-periode']) document.getElementById(id).hidden = true;
  document.getElementById('apercu').replaceChildren();
  document.getElementById('detail-cellule').hidden = true;
}
