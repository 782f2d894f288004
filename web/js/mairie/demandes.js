// « Demandes en attente » (tab « Aujourd'hui »): the requests waiting for a decision, filtered,
// accepted or refused one by one or as a selection.
import { api, say, el, frenchDate, problemText } from '../portail.js';
import { count, NNBSP } from './commun.js';

/** Wires the queue's filters; the services and sites come from the town's configuration. */
export function startQueue(ctx) {
  const { config } = ctx;
  document.getElementById('filtre-demandes').addEventListener('submit', (event) => loadQueue(ctx, event));
  document.getElementById('filtre-service').append(...config.activities.map((a) => el('option', { value: a.id }, a.name)));
  document.getElementById('filtre-site').append(...config.sites.map((x) => el('option', { value: x.id }, x.name)));
}

// The queue's filters (service, site, dates), as the query string of GET …/staff/requests.
function queueQuery() {
  const params = new URLSearchParams();
  for (const [name, id] of [['activity', 'filtre-service'], ['site', 'filtre-site'], ['from', 'filtre-du'], ['to', 'filtre-au']]) {
    const v = document.getElementById(id).value;
    if (v) params.set(name, v);
  }
  const q = params.toString();
  return q ? `?${q}` : '';
}

// Sends decisions 30 at a time (the API's limit per request); the message says what happened
// (`told`, or how many were decided), then the queue is read again.
async function sendDecisions(ctx, decisions, accept, told) {
  const { me, message } = ctx;
  let done = 0;
  try {
    for (let i = 0; i < decisions.length; i += 30) {
      await api('/staff/requests/decisions', { method: 'POST', csrf: me.csrf_token, body: { decisions: decisions.slice(i, i + 30) } });
      done += Math.min(30, decisions.length - i);
    }
    say(message, told ?? `${accept ? count(done, 'demande acceptée', 'demandes acceptées') : count(done, 'demande refusée', 'demandes refusées')}. Les familles sont prévenues par e-mail.`);
  } catch (p) {
    const why = p.decisions?.[0]?.error || p.title;
    say(message, done ? `${count(done, 'demande décidée', 'demandes décidées')}, puis${NNBSP}: ${why}` : why, true);
  }
  await loadQueue(ctx);
}

// Each reading of the queue is numbered: an answer that a newer reading overtook is dropped, so a
// slow unfiltered answer never replaces a filtered one.
let readings = 0;

/** The queue, as filtered, each request with Accepter / Refuser and a reason. While it is read the
 *  list is `aria-busy` (its old rows, and any box ticked on them, are about to be replaced). */
export async function loadQueue(ctx, event) {
  const { message } = ctx;
  event?.preventDefault();
  const box = document.getElementById('file');
  const reading = ++readings;
  box.setAttribute('aria-busy', 'true');
  let queue;
  try { queue = await api(`/staff/requests${queueQuery()}`); } catch (p) {
    if (reading !== readings) return;
    box.setAttribute('aria-busy', 'false');
    say(message, problemText(p), true);
    return;
  }
  if (reading !== readings) return;
  box.setAttribute('aria-busy', 'false');
  if (queue.length === 0) { box.replaceChildren(el('p', {}, 'Aucune demande en attente.')); return; }
  const picks = [];
  const rows = queue.map((r, i) => {
    const reason = el('input', { id: `raison-${i}`, name: 'reason', maxlength: '500' });
    const decide = (accept) => sendDecisions(ctx, [{ child: r.child, unit: r.unit, date: r.date, accept, reason: reason.value || undefined }], accept,
      `${r.first_name} ${r.last_name}, ${r.unit_name}, ${frenchDate(r.date)} : ${accept ? 'acceptée' : 'refusée'}. La famille est prévenue par e-mail.`);
    const ok = el('button', { type: 'button' }, 'Accepter', el('span', { class: 'visually-hidden' }, ` la demande de ${r.first_name} du ${frenchDate(r.date)}`));
    const no = el('button', { type: 'button', class: 'secondaire' }, 'Refuser', el('span', { class: 'visually-hidden' }, ` la demande de ${r.first_name} du ${frenchDate(r.date)}`));
    ok.addEventListener('click', () => decide(true));
    no.addEventListener('click', () => decide(false));
    const pick = el('input', { type: 'checkbox', id: `choix-${i}` });
    picks.push({ pick, r });
    return el('tr', {},
      el('td', {}, pick, el('label', { for: `choix-${i}`, class: 'visually-hidden' }, `Choisir la demande de ${r.first_name} du ${frenchDate(r.date)}`)),
      el('td', { 'data-label': 'Date' }, frenchDate(r.date)),
      el('td', { 'data-label': 'Enfant' }, `${r.first_name} ${r.last_name}`),
      el('td', { 'data-label': 'Prestation' }, r.unit_name),
      el('td', { 'data-label': 'Demande' }, r.status === 'pending' ? (r.waiting_list ? "Réservation (liste d'attente)" : 'Réservation') : 'Annulation'),
      el('td', { 'data-label': 'Raison du refus' }, el('label', { for: `raison-${i}`, class: 'visually-hidden' }, `Raison du refus pour ${r.first_name}, ${frenchDate(r.date)}`), reason),
      el('td', {}, ok, ' ', no));
  });
  const all = el('input', { type: 'checkbox', id: 'choix-tout' });
  all.addEventListener('change', () => picks.forEach(({ pick }) => { pick.checked = all.checked; }));
  const bulkReason = el('input', { id: 'raison-selection', maxlength: '500' });
  const bulk = (accept) => {
    const chosen = picks.filter(({ pick }) => pick.checked)
      .map(({ r }) => ({ child: r.child, unit: r.unit, date: r.date, accept, reason: accept ? undefined : bulkReason.value.trim() || undefined }));
    if (chosen.length === 0) { say(message, 'Cochez au moins une demande.', true); return; }
    if (!accept && chosen[0].reason === undefined) { say(message, 'Indiquez la raison du refus : les familles la liront.', true); bulkReason.focus(); return; }
    sendDecisions(ctx, chosen, accept);
  };
  const acceptAll = el('button', { type: 'button' }, 'Accepter la sélection');
  const refuseAll = el('button', { type: 'button', class: 'secondaire' }, 'Refuser la sélection');
  acceptAll.addEventListener('click', () => bulk(true));
  refuseAll.addEventListener('click', () => bulk(false));
  box.replaceChildren(el('table', { class: 'lignes' },
    el('caption', {}, count(queue.length, 'demande', 'demandes')),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, all, el('label', { for: 'choix-tout', class: 'visually-hidden' }, 'Choisir toutes les demandes')),
      ...['Date', 'Enfant', 'Prestation', 'Demande', 'Raison du refus', 'Décision'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)),
  el('div', { class: 'choix' },
    el('div', {}, el('label', { for: 'raison-selection' }, 'Raison du refus de la sélection'), bulkReason),
    el('div', {}, acceptAll, ' ', refuseAll)));
}
