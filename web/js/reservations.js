// « Mes réservations »: the week grid of one child for one service, the basket's lines shown
// in it, and the period view.
import { api, say, linkTown, session, el, euros, frenchDate, frenchInstant, town, onSubmit } from './portail.js';
import { BOOKING_STATUSES } from './libelles.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);

const WEEKDAY_LETTERS = ['L', 'M', 'M', 'J', 'V'];
const NOT_OFFERED = {
  weekend: 'Week-end',
  public_holiday: 'Jour férié',
  school_holiday: 'Vacances scolaires',
  closure: 'Fermeture',
  not_running_that_day: "Pas de service ce jour-là",
  not_at_site: "Pas sur ce site",
  not_enrolled: 'Non inscrit(e)',
};
const LOCKED = {
  deadline_passed: 'Délai dépassé : contactez le service',
  not_open_yet: 'Pas encore ouvert à la réservation',
  full: 'Complet',
};

/** The short label of a cell's state, as the seed's legend says it. */
export function stateLabel(cell) {
  switch (cell.state) {
    case 'bookable': return cell.waiting_list ? "Réservable (liste d'attente)" : 'Réservable';
    case 'locked': return LOCKED[cell.reason] || 'Non réservable';
    case 'not_offered': return cell.name ? `${NOT_OFFERED[cell.reason]} (${cell.name})` : NOT_OFFERED[cell.reason] || 'Pas de service';
    case 'pending': return 'Demande en cours';
    case 'confirmed': return 'Demande validée';
    case 'cancel_requested': return "Demande d'annulation";
    case 'refused': return cell.reason ? `Demande refusée : ${cell.reason}` : 'Demande refusée';
    case 'present': return 'Enfant présent';
    case 'absent': return cell.justified ? 'Enfant absent (justifié)' : 'Enfant absent';
    case 'absence_reported': return `Absence signalée : ${cell.reason}`;
    case 'cancelled_by_town': return `Annulé par la commune : ${cell.reason} (non facturé)`;
    default: return '';
  }
}

/** The few words a cell shows (the full text is in its description). */
function shortLabel(cell) {
  switch (cell.state) {
    case 'bookable': return 'Libre';
    case 'locked': return { deadline_passed: 'Délai dépassé', not_open_yet: 'Pas ouvert', full: 'Complet' }[cell.reason] || 'Fermé';
    case 'not_offered': return { weekend: 'Week-end', public_holiday: 'Férié', school_holiday: 'Vacances', closure: 'Fermé' }[cell.reason] || '–';
    case 'pending': return 'En cours';
    case 'confirmed': return 'Validée';
    case 'cancel_requested': return 'Annulation demandée';
    case 'refused': return 'Refusée';
    case 'present': return 'Présent';
    case 'absent': return cell.justified ? 'Absent (justifié)' : 'Absent';
    case 'absence_reported': return 'Absence signalée';
    case 'cancelled_by_town': return 'Annulé par la commune';
    default: return '';
  }
}

const state = { children: [], choices: [], monday: null, basket: null, grid: null, detailsFor: null };

function mondayOf(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}
function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const selectedChoice = () => state.choices[Number(document.getElementById('service').value)];
const selectedChild = () => state.children.find((c) => c.id === document.getElementById('enfant').value);

async function loadBasket() {
  const child = selectedChild();
  if (!child) return;
  state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket`);
  const n = state.basket.lines.length;
  document.getElementById('compteur').textContent = n ? `(${n})` : '';
}

function basketLine(unit, date) {
  const child = selectedChild();
  return state.basket?.lines.find((l) => l.child === child.id && l.unit === unit && l.date === date);
}

const shortDay = new Intl.DateTimeFormat('fr-FR', { weekday: 'short', day: '2-digit', month: '2-digit', timeZone: 'Europe/Paris' });

/** What a cell shows under its state, without hover (a touch screen has none): until when it can
 * be booked and its price, until when it can be cancelled, or that it can no longer change. */
function cellHint(cell) {
  if (cell.action?.kind === 'add') return `jusqu'au ${shortDay.format(new Date(cell.add_deadline))} · ${euros(cell.action.price)}`;
  if (cell.action?.kind === 'cancel') return `annulable jusqu'au ${shortDay.format(new Date(cell.cancel_deadline))}`;
  if (frozen(cell)) return 'non modifiable';
  return '';
}

/** A booking past its cancellation deadline: it stands, and looks it. */
const frozen = (cell) => !cell.action && ['confirmed', 'pending'].includes(cell.state);

/** What a cell tells on hover and focus: its deadline and what a change costs. */
function cellInfo(cell) {
  const parts = [stateLabel(cell)];
  if (cell.action?.kind === 'add') parts.push(`réservable jusqu'au ${frenchInstant(cell.add_deadline)}`, `prix ${euros(cell.action.price)}`);
  if (cell.action?.kind === 'cancel') parts.push(`annulable sans frais jusqu'au ${frenchInstant(cell.cancel_deadline)}`);
  if (!cell.action && cell.state === 'locked' && cell.reason === 'deadline_passed' && cell.late_add_price !== undefined) {
    parts.push(`ajout hors délai par le service : ${euros(cell.late_add_price)}`);
  }
  if (!cell.action && ['confirmed', 'pending'].includes(cell.state) && cell.late_cancel_price !== undefined) {
    parts.push(`délai d'annulation dépassé : contactez le service (annulation facturée ${euros(cell.late_cancel_price)})`);
  }
  return parts.join(' – ');
}

/** Four weeks at a time on a large screen (the guide's layout), one on a phone. */
const large = window.matchMedia('(min-width: 64rem)');
const viewWeeks = () => (large.matches ? 4 : 1);

const weekNumber = (week) => week.iso_week;
const dayMonthYear = (iso) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;

function renderGrid() {
  const grid = state.grid;
  const weeks = grid.weeks;
  const first = weeks[0];
  const last = weeks[weeks.length - 1];
  document.getElementById('semaine').textContent = weeks.length === 1 ? first.label
    : `Semaines ${weekNumber(first)} à ${weekNumber(last)}, du ${dayMonthYear(first.days[0])} au ${dayMonthYear(last.days[last.days.length - 1])}`;
  const child = selectedChild();
  // One table per week; each unit's name on its own row above its five days, so that a week
  // fits a phone's width.
  const tables = weeks.map((week) => {
    const head = el('tr', {}, ...week.days.map((d, i) => el('th', { scope: 'col' }, el('abbr', { title: frenchDate(d) }, WEEKDAY_LETTERS[i]), el('span', { class: 'date-courte' }, ` ${d.slice(8, 10)}/${d.slice(5, 7)}`))));
    const bodies = week.rows.map((row) => el('tbody', {},
      el('tr', { class: 'nom-prestation' }, el('th', { scope: 'rowgroup', colspan: String(week.days.length) }, row.name)),
      el('tr', {}, ...row.cells.map((cell) => renderCell(row, cell)))));
    return el('table', { class: 'grille-semaine' },
      el('caption', {}, `${grid.activity_name} – ${child.first_name} – ${week.label}`),
      el('thead', {}, head), ...bodies);
  });
  document.getElementById('grilles').replaceChildren(...tables);
}

function renderCell(row, cell) {
  const line = basketLine(row.unit, cell.date);
  const info = cellInfo(cell);
  const id = `c-${row.unit}-${cell.date}`;
  const booked = ['pending', 'confirmed'].includes(cell.state);
  const classes = ['cellule', cell.state, line ? 'panier' : '', frozen(cell) ? 'fige' : ''].join(' ');
  // The deadline and price, shown short for everyone; a tap opens the cell's details (a touch
  // screen has no hover). Weekends and holidays have none to show.
  const text = cellHint(cell);
  let hint = null;
  if (cell.state !== 'not_offered') {
    hint = el('button', { type: 'button', class: 'delai', 'aria-label': `${text ? `${text} – ` : ''}détails de ${row.name}, ${frenchDate(cell.date)}`, 'aria-controls': 'detail-cellule' }, text || 'détails');
    hint.addEventListener('click', () => showDetails(row, cell, hint));
  }
  if (!cell.action && !line) {
    return el('td', { class: classes, title: info }, el('span', { class: 'etat', 'aria-hidden': 'true' }, shortLabel(cell)), hint, el('span', { class: 'visually-hidden' }, info));
  }
  const checked = line ? line.action === 'add' : booked;
  const box = el('input', { type: 'checkbox', id, checked, 'aria-describedby': `${id}-info` });
  box.addEventListener('change', () => toggle(box, row, cell, line));
  const label = el('label', { for: id, class: 'visually-hidden' }, `${row.name}, ${frenchDate(cell.date)}`);
  const extra = line ? (line.action === 'add' ? 'Réservation dans le panier' : 'Annulation dans le panier') : '';
  return el('td', { class: classes, title: [info, extra].filter(Boolean).join(' – ') }, box, label,
    el('span', { class: 'etat', id: `${id}-info` }, line ? 'Panier' : shortLabel(cell),
      el('span', { class: 'visually-hidden' }, ` – ${[extra, info].filter(Boolean).join(' – ')}`)), hint);
}

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
  return line ? `Contactez le service : ${line}.` : 'Contactez le service.';
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
async function showDetails(row, cell, button) {
  const panel = document.getElementById('detail-cellule');
  const line = basketLine(row.unit, cell.date);
  const items = [`État : ${stateLabel(cell)}${line ? ` ; dans votre panier : ${line.action === 'add' ? 'réservation' : 'annulation'} à valider` : ''}.`];
  const price = cell.action?.kind === 'add' ? cell.action.price : cell.price;
  if (price !== undefined) items.push(`Prix : ${euros(price)}.`);
  const booked = ['pending', 'confirmed'].includes(cell.state);
  if (cell.add_deadline && !booked) items.push(`Réservation en ligne jusqu'au ${frenchInstant(cell.add_deadline)}.`);
  if (cell.cancel_deadline && (booked || cell.action?.kind === 'add')) items.push(`Annulation sans frais jusqu'au ${frenchInstant(cell.cancel_deadline)}.`);
  let late = false;
  if (!cell.action && cell.state === 'locked' && cell.reason === 'deadline_passed') {
    late = true;
    items.push(cell.late_add_price !== undefined
      ? `Délai dépassé : seul le service peut encore inscrire votre enfant, au prix de ${euros(cell.late_add_price)}.`
      : 'Délai dépassé : ce jour ne se réserve plus.');
  }
  if (frozen(cell)) {
    late = true;
    items.push(cell.late_cancel_price !== undefined
      ? `Délai d'annulation dépassé : la réservation reste due ; une annulation par le service est facturée ${euros(cell.late_cancel_price)}.`
      : "Délai d'annulation dépassé : la réservation ne se modifie plus en ligne.");
  }
  if (late) items.push(await contactLine());
  const history = booked || ['cancel_requested', 'refused', 'present', 'absent'].includes(cell.state) ? await bookingHistory(row, cell) : [];
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

async function toggle(box, row, cell, line) {
  const child = selectedChild();
  // The answer under the grid the parent is looking at, not at the top of the page.
  const near = document.getElementById('message-grille');
  box.disabled = true;
  try {
    if (line) {
      state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket/lines/${encodeURIComponent(child.id)}/${encodeURIComponent(row.unit)}/${cell.date}`, { method: 'DELETE', csrf: me.csrf_token });
      sayHere(near, `${row.name}, ${frenchDate(cell.date)} : retiré du panier.`);
    } else {
      state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket/lines`, {
        method: 'POST', csrf: me.csrf_token, body: { lines: [{ child: child.id, unit: row.unit, date: cell.date, action: cell.action.kind }] },
      });
      sayHere(near, `${row.name}, ${frenchDate(cell.date)} : ${cell.action.kind === 'add' ? 'réservation' : 'annulation'} ajoutée au panier.`);
    }
  } catch (problem) {
    sayHere(near, problem.lines?.[0]?.error?.message || problem.title, true);
  }
  const n = state.basket?.lines.length || 0;
  document.getElementById('compteur').textContent = n ? `(${n})` : '';
  renderGrid();
  // The focus back on the cell, the answer kept on screen.
  document.getElementById(box.id)?.focus({ preventScroll: true });
  near.scrollIntoView({ block: 'nearest' });
}

async function loadGrid() {
  const child = selectedChild();
  const choice = selectedChoice();
  if (!child || !choice) return;
  try {
    // Without a week, the server answers this week in the town's time zone.
    const from = state.monday ? `&from=${state.monday}` : '';
    const [grid] = await Promise.all([
      api(`/calendar/children/${encodeURIComponent(child.id)}/weeks?activity=${encodeURIComponent(choice.activity)}${from}&weeks=${viewWeeks()}`),
      loadBasket(),
    ]);
    state.grid = grid;
    state.monday = grid.weeks[0].monday;
    // The details of a cell of another child's or service's grid no longer apply.
    if (state.detailsFor !== `${child.id}|${choice.activity}`) document.getElementById('detail-cellule').hidden = true;
    renderGrid();
    renderUnits();
  } catch (problem) { say(message, problem.title, true); }
}

function renderChildren() {
  const choice = selectedChoice();
  const select = document.getElementById('enfant');
  const current = select.value;
  const eligible = state.children.filter((c) => c.activities.some((a) => a.activity === choice.activity && a.site === choice.site));
  select.replaceChildren(...eligible.map((c) => el('option', { value: c.id, selected: c.id === current }, `${c.first_name} ${c.last_name}`)));
  // The period view books several children at once for the same pattern.
  const box = document.getElementById('enfants-periode');
  box.hidden = eligible.length < 2;
  box.replaceChildren(el('legend', {}, 'Enfants'), ...eligible.map((c) => el('label', { class: 'en-ligne' },
    el('input', { type: 'checkbox', name: 'children', value: c.id, checked: c.id === select.value }), ` ${c.first_name} ${c.last_name}`)));
}

function renderUnits() {
  const fieldset = document.getElementById('prestations');
  const units = state.grid.weeks[0].rows;
  const shown = [...fieldset.querySelectorAll('input')].map((i) => i.value).join();
  if (shown === units.map((u) => u.unit).join()) return; // same service: keep the guardian's ticks
  fieldset.replaceChildren(el('legend', {}, 'Prestations'),
    ...units.map((u) => el('label', { class: 'en-ligne' }, el('input', { type: 'checkbox', name: 'units', value: u.unit }), ` ${u.name}`)));
}

/** The first day from `from` on, within a year, that `test` accepts: the town's calendar read
 * 62 days at a time (the API's most). */
async function firstDay(from, test) {
  let start = from;
  for (let i = 0; i < 7; i += 1) {
    const end = addDays(start, 61);
    const days = await api(`/days?from=${start}&to=${end}`);
    const hit = days.find(test);
    if (hit) return hit;
    start = addDays(end, 1);
  }
  return null;
}

/** « Jusqu'aux prochaines vacances », « Jusqu'à la fin de l'année scolaire »: fills « Au » with
 * the eve of the next school holidays, or of the summer ones, from « Du » (or the week shown). */
async function untilHolidays(summer) {
  const form = document.getElementById('periode');
  const near = document.getElementById('message-periode');
  const from = form.elements.from.value || state.grid.weeks[0].days[0];
  if (!form.elements.from.value) form.elements.from.value = from;
  try {
    const isSummer = (d) => ['07', '08'].includes(d.date.slice(5, 7));
    const day = await firstDay(from, (d) => d.school_holiday && d.date > from && (!summer || isSummer(d)));
    if (!day) { sayHere(near, 'Pas de vacances scolaires dans l\'année qui vient.', true); return; }
    form.elements.to.value = addDays(day.date, -1);
    sayHere(near, `Jusqu'au ${frenchDate(form.elements.to.value)}, veille des ${day.school_holiday.charAt(0).toLowerCase()}${day.school_holiday.slice(1)}.`);
  } catch (problem) { sayHere(near, problem.title, true); }
}

function periodBody(form) {
  const data = new FormData(form);
  return {
    activity: selectedChoice().activity,
    action: data.get('action'),
    from: data.get('from'),
    to: data.get('to'),
    units: data.getAll('units'),
    weekdays: data.getAll('weekdays'),
    every_weeks: Number(data.get('every_weeks')),
  };
}

/** The children the period is for: those ticked under « Enfants » (the grid's child by default). */
function periodChildren() {
  const ticked = [...document.querySelectorAll('#enfants-periode input:checked')].map((i) => i.value);
  const chosen = state.children.filter((c) => ticked.includes(c.id));
  return chosen.length ? chosen : [selectedChild()];
}

async function preview(event) {
  event.preventDefault();
  const form = event.target;
  const out = document.getElementById('apercu');
  const body = periodBody(form);
  const near = document.getElementById('message-periode');
  near.hidden = true;
  if (!body.from || !body.to) { sayHere(near, 'Indiquez les dates de début et de fin de la période.', true); return; }
  const unitName = (u) => state.grid.weeks[0].rows.find((r) => r.unit === u)?.name || u;
  const children = periodChildren();
  try {
    // One preview per child (the same pattern for each), then one « Ajouter au panier » for all.
    const previews = await Promise.all(children.map((child) => api(`/calendar/children/${encodeURIComponent(child.id)}/period-preview`, { method: 'POST', csrf: me.csrf_token, body })));
    const verb = body.action === 'add' ? 'à réserver' : 'à annuler';
    const count = previews.reduce((n, p) => n + p.lines.length, 0);
    const total = previews.reduce((n, p) => n + p.total, 0);
    const add = el('button', { type: 'button', disabled: count === 0 }, 'Ajouter au panier');
    // The answer next to the button the parent just pressed, not at the top of the page.
    const told = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: '' });
    add.addEventListener('click', async () => {
      add.disabled = true;
      let added = 0;
      try {
        for (const child of children) {
          const r = await api(`/families/${encodeURIComponent(child.family)}/basket/period`, { method: 'POST', csrf: me.csrf_token, body: { child: child.id, ...body } });
          added += r.added;
        }
        await loadGrid();
        sayHere(told, `${added} ligne(s) ajoutée(s) au panier.`);
      } catch (problem) {
        if (added) await loadGrid();
        sayHere(told, added ? `${added} ligne(s) ajoutée(s) au panier ; ${problem.title}` : problem.title, true);
        add.disabled = false;
      }
    });
    const several = children.length > 1;
    const parts = [el('h3', {}, `Aperçu : ${count} jour(s) ${verb}${several ? ` pour ${children.length} enfants` : ''}, total ${euros(total)}`)];
    children.forEach((child, i) => {
      const p = previews[i];
      if (several) parts.push(el('h4', {}, `${child.first_name} : ${p.lines.length} jour(s), ${euros(p.total)}`));
      parts.push(el('ul', {}, ...p.lines.map((l) => el('li', {}, `${frenchDate(l.date)} – ${unitName(l.unit)} – ${euros(l.price)}`))));
      if (p.skipped.length) {
        parts.push(el(several ? 'h5' : 'h3', {}, `${p.skipped.length} jour(s) ignoré(s)${several ? ` pour ${child.first_name}` : ''}`),
          el('ul', {}, ...p.skipped.map((x) => el('li', {}, `${frenchDate(x.date)} – ${unitName(x.unit)} – ${stateLabel(x)}`))));
      }
    });
    out.replaceChildren(...parts, add, told);
  } catch (problem) { sayHere(near, problem.title, true); }
}

/** Says `text` in `region` and brings it into view (a phone shows a small part of the page). */
function sayHere(region, text, error = false) {
  say(region, text, error);
  region.scrollIntoView({ block: 'nearest' });
}

/** « Mon enfant est malade »: reports an absence today or in the coming days, in one step. */
function sickForm() {
  const form = document.getElementById('malade');
  const who = document.getElementById('enfant-malade');
  const kids = new Map(state.children.map((c) => [c.id, c]));
  who.replaceChildren(...[...kids.values()].map((c) => el('option', { value: c.id }, c.first_name)));
  const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' });
  form.elements.from.value = today;
  const out = document.getElementById('message-malade');
  onSubmit(form, async () => {
    const child = kids.get(who.value);
    const data = new FormData(form);
    const body = { child: child.id, from: data.get('from'), reason: data.get('reason').trim() };
    if (data.get('to')) body.to = data.get('to');
    try {
      const r = await api(`/families/${encodeURIComponent(child.family)}/absences`, { method: 'POST', csrf: me.csrf_token, body });
      const days = r.bookings.map((b) => `${frenchDate(b.date)} (${b.unit_name})`).join(', ');
      const until = new Date(r.certificate_until).toLocaleString('fr-FR', { dateStyle: 'full', timeStyle: 'short', timeZone: 'Europe/Paris' });
      sayHere(out, `Absence signalée pour ${child.first_name} : ${days}. Le service est prévenu. Ces jours restent facturés, sauf si vous envoyez un certificat médical dans « Mes demandes » avant le ${until}.`);
      form.elements.reason.value = '';
      loadGrid();
    } catch (p) { sayHere(out, p.detail || p.title, true); }
  });
}

if (me) {
  try {
    state.children = await api('/calendar/children');
  } catch (problem) { say(message, problem.title, true); }
  if (state.children.length) sickForm();
  const seen = new Map();
  for (const c of state.children) for (const a of c.activities) seen.set(`${a.activity}|${a.site}`, a);
  state.choices = [...seen.values()];
  if (state.choices.length === 0) {
    say(message, "Aucun enfant n'est inscrit à un service : contactez la mairie.");
  } else {
    document.getElementById('service').replaceChildren(...state.choices.map((c, i) => el('option', { value: String(i) }, `${c.name} – ${c.site_name}`)));
    renderChildren();
    const asked = new URLSearchParams(location.search).get('semaine');
    state.monday = asked ? mondayOf(asked) : null;
    document.getElementById('service').addEventListener('change', () => { renderChildren(); loadGrid(); });
    document.getElementById('enfant').addEventListener('change', () => {
      for (const i of document.querySelectorAll('#enfants-periode input')) i.checked = i.value === document.getElementById('enfant').value;
      loadGrid();
    });
    // « Précédent » and « Suivant » move by the view's length.
    document.getElementById('precedent').addEventListener('click', () => { state.monday = addDays(state.monday, -7 * viewWeeks()); loadGrid(); });
    document.getElementById('suivant').addEventListener('click', () => { state.monday = addDays(state.monday, 7 * viewWeeks()); loadGrid(); });
    large.addEventListener('change', loadGrid);
    document.getElementById('aujourdhui').addEventListener('click', () => { state.monday = null; loadGrid(); });
    document.getElementById('periode').addEventListener('submit', preview);
    document.getElementById('jusqu-vacances').addEventListener('click', () => untilHolidays(false));
    document.getElementById('fin-annee').addEventListener('click', () => untilHolidays(true));
    await loadGrid();
    // Shown whole once the first grid is in (nothing moves under the parent's finger).
    document.getElementById('page').hidden = false;
  }
}
