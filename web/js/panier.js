// « Mon panier »: the lines with their price and the total, removal, and validation exactly once
// (one idempotency key per basket revision, kept for the tab, so a reload or a second click
// never books twice).
import { api, say, linkTown, session, el, euros, frenchDate, newKey } from './portail.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);
const STATUS = {
  confirmed: 'demande validée',
  pending: 'demande en cours (le service doit la valider)',
  cancel_requested: "demande d'annulation transmise au service",
  cancelled: 'annulée',
};

/** The key of a validation of this basket revision (and choice): the same on a retry. */
function keyFor(revision, applyValid) {
  const name = `ef-validation-${revision}-${applyValid ? 'valides' : 'tout'}`;
  let key = sessionStorage.getItem(name);
  if (!key) { key = newKey(); sessionStorage.setItem(name, key); }
  return key;
}

function showResult(answer, family, basket) {
  const names = new Map(basket.lines.map((l) => [`${l.child}|${l.unit}|${l.date}`, l]));
  const section = document.getElementById('resultat');
  section.hidden = false;
  const outcome = {
    applied: `Votre panier est validé : ${answer.applied} ligne(s) enregistrée(s), pour ${euros(answer.total)}. Un e-mail de confirmation vous est envoyé.`,
    partially_applied: `${answer.applied} ligne(s) enregistrée(s), pour ${euros(answer.total)} ; ${answer.refused} ligne(s) refusée(s), restée(s) dans le panier.`,
    rejected: `Rien n'a été enregistré : ${answer.refused} ligne(s) ne peuvent pas être validées. Retirez-les, ou validez seulement les autres.`,
  }[answer.outcome];
  document.getElementById('resume').textContent = outcome;
  document.getElementById('lignes-resultat').replaceChildren(...answer.lines.map((l) => {
    const known = names.get(`${l.child}|${l.unit}|${l.date}`);
    const what = `${frenchDate(l.date)} – ${known?.first_name || l.child} – ${known?.unit_name || l.unit} – ${l.action === 'add' ? 'réservation' : 'annulation'}`;
    const result = l.result === 'applied' ? `enregistrée : ${STATUS[l.status] || l.status}`
      : l.result === 'refused' ? `refusée : ${l.error.message}` : 'valide, non enregistrée';
    return el('li', { class: l.result === 'refused' ? 'refuse' : '' }, `${what} – ${result}`);
  }));
  document.getElementById('titre-resultat').focus();
  return load(family);
}

async function validate(family, basket, applyValid, button) {
  button.disabled = true;
  try {
    const answer = await api(`/families/${encodeURIComponent(family)}/basket/validate`, {
      method: 'POST', csrf: me.csrf_token, key: keyFor(basket.revision, applyValid),
      body: { basket_revision: basket.revision, apply_valid: applyValid },
    });
    await showResult(answer, family, basket);
  } catch (problem) {
    if (problem.code === 'lines_refused' && problem.lines) {
      await showResult({ outcome: 'rejected', applied: 0, refused: problem.refused, total: 0, lines: problem.lines }, family, basket);
    } else {
      say(message, problem.title, true);
      button.disabled = false;
    }
  }
}

async function remove(family, line) {
  try {
    await api(`/families/${encodeURIComponent(family)}/basket/lines/${encodeURIComponent(line.child)}/${encodeURIComponent(line.unit)}/${line.date}`, { method: 'DELETE', csrf: me.csrf_token });
    say(message, `${line.unit_name}, ${frenchDate(line.date)} : retiré du panier.`);
  } catch (problem) { say(message, problem.title, true); }
  await load(family);
}

function render(family, basket) {
  const box = document.getElementById(`panier-${family}`) || el('section', { id: `panier-${family}` });
  if (!box.isConnected) document.getElementById('paniers').append(box);
  if (basket.lines.length === 0) {
    box.replaceChildren(el('p', { class: 'vide' }, 'Votre panier est vide.'),
      el('p', {}, el('a', { href: `reservations.html${location.search}` }, 'Réserver des prestations')));
    return;
  }
  const rows = basket.lines.map((l) => {
    const button = el('button', { type: 'button', class: 'secondaire' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` ${l.unit_name} du ${frenchDate(l.date)}`));
    button.addEventListener('click', () => remove(family, l));
    return el('tr', { class: l.error ? 'refuse' : '' },
      el('td', { 'data-label': 'Date' }, frenchDate(l.date)),
      el('td', { 'data-label': 'Enfant' }, l.first_name),
      el('td', { 'data-label': 'Prestation' }, l.unit_name),
      el('td', { 'data-label': 'Action' }, l.action === 'add' ? 'Réservation' : `Annulation${l.refund ? ` (${euros(l.refund)} non facturés)` : ''}`),
      el('td', { class: 'montant', 'data-label': 'Prix' }, l.error ? l.error.message : euros(l.price)),
      el('td', {}, button));
  });
  const table = el('table', { class: 'lignes' },
    el('caption', {}, `${basket.lines.length} ligne(s)`),
    el('thead', {}, el('tr', {}, ...['Date', 'Enfant', 'Prestation', 'Action', 'Prix', ''].map((h) => el('th', { scope: 'col' }, h || el('span', { class: 'visually-hidden' }, 'Retirer'))))),
    el('tbody', {}, ...rows),
    el('tfoot', {}, el('tr', {}, el('th', { scope: 'row', colspan: '4' }, 'Total'), el('td', { class: 'montant' }, euros(basket.total)), el('td', {}))));
  const all = el('button', { type: 'button' }, 'Valider mon panier');
  all.addEventListener('click', () => validate(family, basket, false, all));
  const parts = [table, all];
  if (basket.invalid > 0) {
    parts.splice(1, 0, el('p', { class: 'message erreur' }, `${basket.invalid} ligne(s) ne peuvent plus être validées (raison indiquée) : retirez-les, ou validez seulement les autres.`));
    const some = el('button', { type: 'button', class: 'secondaire' }, 'Valider seulement les lignes possibles');
    some.addEventListener('click', () => validate(family, basket, true, some));
    parts.push(some);
  }
  parts.push(el('p', { class: 'aide' }, "Le total est celui des lignes possibles. Chaque ligne est vérifiée à nouveau au moment de la validation (délais, places)."));
  box.replaceChildren(...parts);
}

async function load(family) {
  try {
    render(family, await api(`/families/${encodeURIComponent(family)}/basket`));
  } catch (problem) { say(message, problem.title, true); }
}

if (me) {
  if (me.families.length === 0) say(message, "Votre compte n'est rattaché à aucune famille.");
  for (const family of me.families) await load(family);
}
