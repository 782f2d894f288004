// The state of « Mes réservations » shared by its parts (the entry fills it), and the small
// helpers that read it.
import { say } from '../portail.js';

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
  say(region, text, error);
  region.scrollIntoView({ block: 'nearest' });
}
