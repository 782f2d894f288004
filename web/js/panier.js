// « Mon panier »: the lines with their price and the total, removal, and validation exactly once
// (one idempotency key per basket revision, kept for the tab, so a reload or a second click
// never books twice).
import { api, say, sayInView, linkTown, session, el, euros, frenchDate, newKey } from './portail.js';
import { plural } from './typo.js';
import { BOOKING_STATUSES_VALIDATED } from './libelles.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);

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
    applied: `Votre panier est validé : ${plural(answer.applied, 'ligne enregistrée', 'lignes enregistrées')}, pour ${euros(answer.total)}. Un e-mail de confirmation vous est envoyé.`,
    partially_applied: `${plural(answer.applied, 'ligne enregistrée', 'lignes enregistrées')}, pour ${euros(answer.total)} ; ${plural(answer.refused, 'ligne refusée, restée', 'lignes refusées, restées')} dans le panier.`,
    rejected: `Rien n’a été enregistré : ${answer.refused > 1 ? `${plural(answer.refused, 'ligne')} ne peuvent pas être validées` : 'une ligne ne peut pas être validée'}. Retirez-les, ou validez seulement les autres.`,
  }[answer.outcome];
  document.getElementById('resume').textContent = outcome;
  document.getElementById('lignes-resultat').replaceChildren(...answer.lines.map((l) => {
    const known = names.get(`${l.child}|${l.unit}|${l.date}`);
    const what = `${frenchDate(l.date)} – ${known?.first_name || l.child} – ${known?.unit_name || l.unit} – ${l.action === 'add' ? 'réservation' : 'annulation'}`;
    const result = l.result === 'applied' ? `enregistrée : ${BOOKING_STATUSES_VALIDATED[l.status] || l.status}`
      : l.result === 'refused' ? `refusée : ${l.error.message}` : 'valide, non enregistrée';
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

async function removeLines(family, lines, region) {
  let removed = 0;
  try {
    for (const line of lines) {
      await api(`/families/${encodeURIComponent(family)}/basket/lines/${encodeURIComponent(line.child)}/${encodeURIComponent(line.unit)}/${line.date}`, { method: 'DELETE', csrf: me.csrf_token });
      removed += 1;
    }
    const l = lines[0];
    sayInView(message, lines.length === 1 ? `${l.unit_name}, ${frenchDate(l.date)} : retiré du panier.` : `${l.first_name} – ${l.unit_name} : ${plural(removed, 'ligne retirée', 'lignes retirées')} du panier.`);
  } catch (problem) { say(region || message, problem.title, true); }
  await load(family);
}

const WEEKDAYS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];
const weekday = (iso) => new Date(`${iso}T00:00:00Z`).getUTCDay();

/** « 23 mardis » when every date is the same day of the week, else « 5 jours ». */
function countOf(lines) {
  const days = new Set(lines.map((l) => weekday(l.date)));
  const n = lines.length;
  if (days.size === 1) return `${n} ${WEEKDAYS[[...days][0]]}${n > 1 ? 's' : ''}`;
  return `${n} jour${n > 1 ? 's' : ''}`;
}

/** The lines grouped by child, unit and action (a year of Tuesdays is one group), in order. */
function groups(lines) {
  const map = new Map();
  for (const l of [...lines].sort((a, b) => a.date.localeCompare(b.date))) {
    const key = `${l.child}|${l.unit}|${l.action}`;
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(l);
  }
  return [...map.values()].sort((a, b) => a[0].first_name.localeCompare(b[0].first_name, 'fr')
    || a[0].unit_name.localeCompare(b[0].unit_name, 'fr') || a[0].action.localeCompare(b[0].action));
}

/** One group: « Hugo – Périscolaire soir », what it does and costs, its dates on demand. */
function groupCard(family, lines) {
  const first = lines[0];
  const adding = first.action === 'add';
  const valid = lines.filter((l) => !l.error);
  const refused = lines.length - valid.length;
  const sum = valid.reduce((t, l) => t + (adding ? l.price : 0), 0);
  const refund = adding ? 0 : valid.reduce((t, l) => t + (l.refund || 0), 0);
  const span = lines.length > 1 ? `, du ${frenchDate(first.date)} au ${frenchDate(lines[lines.length - 1].date)}` : `, ${frenchDate(first.date)}`;
  const what = adding
    ? `Réservation : ${countOf(lines)}${span} – ${euros(sum)}`
    : `Annulation : ${countOf(lines)}${span}${refund ? ` – ${euros(refund)} non facturés` : ''}`;
  const region = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: true });
  const rows = lines.map((l) => {
    const button = el('button', { type: 'button', class: 'secondaire petit' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` ${l.first_name}, ${l.unit_name} du ${frenchDate(l.date)}`));
    button.addEventListener('click', () => removeLines(family, [l], region));
    return el('li', { class: l.error ? 'refuse' : '' }, `${frenchDate(l.date)} – `,
      l.error ? l.error.message : adding ? euros(l.price) : (l.refund ? `${euros(l.refund)} non facturés` : 'annulation'), ' ', button);
  });
  const parts = [
    el('h2', {}, `${first.first_name} – ${first.unit_name}`),
    el('p', { class: 'action' }, el('span', { class: 'signe', 'aria-hidden': 'true' }, adding ? '+' : '−'), ' ', what),
  ];
  if (refused) parts.push(el('p', { class: 'message erreur' }, `${refused > 1 ? `${plural(refused, 'ligne')} ne peuvent plus être validées` : 'Une ligne ne peut plus être validée'} (raison indiquée ci-dessous).`));
  if (lines.length === 1) {
    parts.push(el('ul', { class: 'dates' }, ...rows));
  } else {
    parts.push(el('details', { open: refused > 0 }, el('summary', {}, `Voir les ${lines.length} dates`), el('ul', { class: 'dates' }, ...rows)));
    const all = el('button', { type: 'button', class: 'secondaire petit' }, `Retirer ces ${lines.length} lignes`);
    all.addEventListener('click', () => { all.disabled = true; removeLines(family, lines, region); });
    parts.push(all);
  }
  parts.push(region);
  return el('article', { class: `groupe ${adding ? 'ajout' : 'annulation'}` }, ...parts);
}

function render(family, basket) {
  const box = document.getElementById(`panier-${family}`) || el('section', { id: `panier-${family}`, 'aria-label': 'Lignes du panier' });
  if (!box.isConnected) document.getElementById('paniers').append(box);
  if (basket.lines.length === 0) {
    box.replaceChildren(el('p', { class: 'vide' }, 'Votre panier est vide.'),
      el('p', {}, el('a', { href: `reservations.html${location.search}` }, 'Réserver des prestations')));
    return;
  }
  const cards = groups(basket.lines).map((lines) => groupCard(family, lines));
  // The total and the validation stay on screen (a sticky bar on a phone).
  const all = el('button', { type: 'button' }, 'Valider mon panier');
  all.addEventListener('click', () => validate(family, basket, false, all));
  const bar = [el('p', { class: 'total' }, `${plural(basket.lines.length, 'ligne')} · Total `, el('strong', { id: `total-${family}` }, euros(basket.total))), all];
  if (basket.invalid > 0) {
    const some = el('button', { type: 'button', class: 'secondaire' }, 'Valider seulement les lignes possibles');
    some.addEventListener('click', () => validate(family, basket, true, some));
    bar.push(some);
  }
  const parts = [...cards];
  if (basket.invalid > 0) {
    parts.push(el('p', { class: 'message erreur' }, `${basket.invalid > 1 ? `${plural(basket.invalid, 'ligne')} ne peuvent plus être validées` : 'Une ligne ne peut plus être validée'} (raison indiquée) : retirez-les, ou validez seulement les autres.`));
  }
  parts.push(el('p', { class: 'aide' }, "Le total est celui des lignes possibles. Chaque ligne est vérifiée à nouveau au moment de la validation (délais, places)."));
  parts.push(el('div', { class: 'barre-panier' }, ...bar));
  box.replaceChildren(...parts);
}

async function load(family) {
  try {
    render(family, await api(`/families/${encodeURIComponent(family)}/basket`));
  } catch (problem) { say(message, problem.title, true); }
}

if (me) {
  if (me.families.length === 0) say(message, "Votre compte n’est rattaché à aucune famille.");
  for (const family of me.families) await load(family);
}
