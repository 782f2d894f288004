// « Familles »: a family found by name, email or reference; its bookings, its record, its
// guardians' activation links, a late change for one of its children.
import { api, say, el, euros, frenchDate } from '../portail.js';
import { count } from './commun.js';
import { BOOKING_STATUSES_STAFF, ATTENDANCE } from '../libelles.js';
import { showRecords } from '../fiche-famille.js';
import { chooseLateChild } from './hors-delai.js';

/** Wires « Rechercher ». */
export function startFamilies(ctx) {
  document.getElementById('recherche-familles').addEventListener('submit', (event) => searchFamilies(ctx, event));
}

/** A family's bookings, a month before and two after, with their history. */
async function showBookings(ctx, family) {
  const { message, units } = ctx;
  const box = document.getElementById('reservations-famille');
  try {
    const bookings = await api(`/families/${encodeURIComponent(family.reference)}/bookings`);
    const names = new Map(family.children.map((c) => [c.id, c.first_name]));
    const unitNames = new Map(units.map((u) => [u.id, u.name]));
    box.replaceChildren(el('h3', { id: 'titre-reservations-famille', tabindex: '-1' }, `Réservations de la ${family.name} (un mois avant, deux mois après)`),
      bookings.length === 0 ? el('p', {}, 'Aucune réservation sur cette période.') : el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-labelledby': 'titre-reservations-famille' }, el('table', { class: 'lignes' },
        el('caption', {}, count(bookings.length, 'réservation', 'réservations')),
        el('thead', {}, el('tr', {}, ...['Date', 'Enfant', 'Prestation', 'Statut', 'Prix', 'Présence', 'Historique'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...bookings.map((b) => el('tr', {},
          el('td', { 'data-label': 'Date' }, frenchDate(b.date)),
          el('td', { 'data-label': 'Enfant' }, names.get(b.child) || b.child),
          el('td', { 'data-label': 'Prestation' }, unitNames.get(b.unit) || b.unit),
          el('td', { 'data-label': 'Statut' }, `${BOOKING_STATUSES_STAFF[b.status] || b.status}${b.late ? ' (hors délai)' : ''}`),
          el('td', { 'data-label': 'Prix', class: 'montant' }, euros(b.price)),
          el('td', { 'data-label': 'Présence' }, ATTENDANCE[b.attendance] || ''),
          el('td', { 'data-label': 'Historique' }, b.history.map((h) => `${BOOKING_STATUSES_STAFF[h.to] || h.to} par ${h.by}`).join(' ; '))))))));
    document.getElementById('titre-reservations-famille').focus();
  } catch (p) { say(message, p.title, true); }
}

async function searchFamilies(ctx, event) {
  const { me, message } = ctx;
  event.preventDefault();
  const q = document.getElementById('q').value.trim();
  try {
    const hits = await api(`/staff/families?q=${encodeURIComponent(q)}`);
    const box = document.getElementById('resultats-familles');
    document.getElementById('reservations-famille').replaceChildren();
    document.getElementById('fiche-famille').replaceChildren();
    if (hits.length === 0) { box.replaceChildren(el('p', {}, 'Aucune famille ne correspond.')); return; }
    box.replaceChildren(el('ul', { class: 'liste' }, ...hits.map((f) => {
      const guardians = f.guardians.map((g) => {
        const resend = el('button', { type: 'button', class: 'secondaire' }, "Renvoyer le lien d'activation", el('span', { class: 'visually-hidden' }, ` à ${g.email}`));
        resend.addEventListener('click', async () => {
          try {
            await api('/auth/activation-link', { method: 'POST', body: { email: g.email } });
            say(message, `Si le compte de ${g.email} n’est pas encore activé, un nouveau lien d’activation lui est envoyé.`);
          } catch (p) { say(message, p.title, true); }
        });
        // Only a guardian who has not activated needs a new link.
        return el('li', {}, `${g.first_name} ${g.last_name} – ${g.email} `, g.activated ? '(compte activé)' : resend);
      });
      const bookings = el('button', { type: 'button' }, 'Voir les réservations', el('span', { class: 'visually-hidden' }, ` de la ${f.name}`));
      bookings.addEventListener('click', () => showBookings(ctx, f));
      const edit = el('button', { type: 'button', class: 'secondaire' }, 'Modifier la fiche', el('span', { class: 'visually-hidden' }, ` de la ${f.name}`));
      edit.addEventListener('click', () => showRecords(document.getElementById('fiche-famille'), f.reference, { me, message, config: ctx.config }));
      // A late change for one of its children: the form, with the child already chosen.
      const late = f.children.map((c) => {
        const b = el('button', { type: 'button', class: 'secondaire petit' }, 'Modification hors délai', el('span', { class: 'visually-hidden' }, ` pour ${c.first_name} ${c.last_name}`));
        b.addEventListener('click', () => chooseLateChild(f.reference, f.name, c.id, `${c.first_name} ${c.last_name}`));
        return el('li', {}, `${c.first_name} ${c.last_name} `, b);
      });
      return el('li', {}, el('strong', {}, `${f.name} (${f.reference})`),
        f.children.length ? el('ul', { 'aria-label': `Enfants de la ${f.name}` }, ...late) : el('p', {}, 'Enfants : aucun'),
        el('ul', { 'aria-label': `Responsables de la ${f.name}` }, ...guardians), bookings, ' ', edit);
    })));
  } catch (p) { say(message, p.title, true); }
}
