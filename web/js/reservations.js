// « Mes réservations »: the week grid of one child for one service, the basket's lines shown
// in it. Its parts are under reservations/: the cells' words (cellules.js), the page's state
// (etat.js), a cell's details (details.js) and the period view (periode.js), one tap away from
// the grid; the basket's count and total in a bar at the bottom of the screen.
import { api, say, linkTown, session, el, euros, frenchDate, frenchInstant } from './portail.js';
import { stateLabel, shortLabel, frozen } from './reservations/cellules.js';
import { state, mondayOf, addDays, selectedChoice, selectedChild, basketLine, sayHere, showBasket, sayWithBasket, clearAnswers } from './reservations/etat.js';
import { showDetails } from './reservations/details.js';
import { startPeriod } from './reservations/periode.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);
/** What the page's parts need from it: the session, and the grid read again after a change. */
const ctx = { me, loadGrid };

const WEEKDAY_LETTERS = ['L', 'M', 'M', 'J', 'V'];

async function loadBasket() {
  const child = selectedChild();
  if (!child) return;
  state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket`);
  showBasket();
}

const shortDay = new Intl.DateTimeFormat('fr-FR', { weekday: 'short', day: '2-digit', month: '2-digit', timeZone: 'Europe/Paris' });

/** What a cell shows under its state, without hover (a touch screen has none): until when it can
 * be booked and its price, until when it can be cancelled, or that it can no longer change. */
function cellHint(cell) {
  if (cell.action?.kind === 'add') return `jusqu’au ${shortDay.format(new Date(cell.add_deadline))} · ${euros(cell.action.price)}`;
  if (cell.action?.kind === 'cancel') return `annulable jusqu’au ${shortDay.format(new Date(cell.cancel_deadline))}`;
  if (frozen(cell)) return 'non modifiable';
  return '';
}

/** What a cell tells on hover and focus: its deadline and what a change costs. */
function cellInfo(cell) {
  const parts = [stateLabel(cell)];
  if (cell.action?.kind === 'add') parts.push(`réservable jusqu’au ${frenchInstant(cell.add_deadline)}`, `prix ${euros(cell.action.price)}`);
  if (cell.action?.kind === 'cancel') parts.push(`annulable sans frais jusqu’au ${frenchInstant(cell.cancel_deadline)}`);
  if (!cell.action && cell.state === 'locked' && cell.reason === 'deadline_passed' && cell.late_add_price !== undefined) {
    parts.push(`ajout hors délai par le service : ${euros(cell.late_add_price)}`);
  }
  if (!cell.action && ['confirmed', 'pending'].includes(cell.state) && cell.late_cancel_price !== undefined) {
    parts.push(`délai d’annulation dépassé : contactez le service (annulation facturée ${euros(cell.late_cancel_price)})`);
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
  const booked = ['pending', 'confirmed', 'absence_reported'].includes(cell.state);
  const classes = ['cellule', cell.state, line ? 'panier' : '', frozen(cell) ? 'fige' : ''].join(' ');
  // The deadline and price, shown short for everyone; a tap opens the cell's details (a touch
  // screen has no hover). Weekends and holidays have none to show. The cell is two targets of
  // at least 44 × 44 px: the box with its state above, the details below; a cell that cannot
  // change is one target, its details.
  const text = cellHint(cell);
  // The button's name is what it shows, then what it is about (WCAG 2.5.3, label in name).
  const detailsButton = (...content) => {
    const b = el('button', { type: 'button', class: 'delai', 'aria-controls': 'detail-cellule' }, ...content,
      el('span', { class: 'visually-hidden' }, ` – détails de ${row.name}, ${frenchDate(cell.date)}`));
    b.addEventListener('click', () => showDetails(row, cell, b));
    return b;
  };
  if (!cell.action && !line) {
    const label = shortLabel(cell);
    if (cell.state === 'not_offered') return el('td', { class: classes, title: info }, el('span', { class: 'etat' }, label));
    return el('td', { class: classes, title: info }, detailsButton(el('span', { class: 'etat' }, label), text ? el('span', { class: 'indice' }, ` ${text}`) : null),
      el('span', { class: 'visually-hidden' }, info));
  }
  const checked = line ? line.action === 'add' : booked;
  const box = el('input', { type: 'checkbox', id, checked, 'aria-describedby': `${id}-info` });
  box.addEventListener('change', () => toggle(box, row, cell, line));
  const extra = line ? (line.action === 'add' ? 'Réservation dans le panier' : 'Annulation dans le panier') : '';
  return el('td', { class: classes, title: [info, extra].filter(Boolean).join(' – ') },
    el('label', { for: id, class: 'case' }, box, el('span', { class: 'visually-hidden' }, `${row.name}, ${frenchDate(cell.date)}`),
      el('span', { class: 'etat', 'aria-hidden': 'true' }, line ? 'Panier' : shortLabel(cell))),
    el('span', { class: 'visually-hidden', id: `${id}-info` }, [extra, info].filter(Boolean).join(' – ')),
    detailsButton(text || 'détails'));
}

async function toggle(box, row, cell, line) {
  const child = selectedChild();
  // The answer under the grid the parent is looking at, not at the top of the page.
  const near = document.getElementById('message-grille');
  box.disabled = true;
  try {
    if (line) {
      state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket/lines/${encodeURIComponent(child.id)}/${encodeURIComponent(row.unit)}/${cell.date}`, { method: 'DELETE', csrf: me.csrf_token });
      sayHere(near, `${row.name}, ${frenchDate(cell.date)} : retiré du panier.`);
    } else {
      state.basket = await api(`/families/${encodeURIComponent(child.family)}/basket/lines`, {
        method: 'POST', csrf: me.csrf_token, body: { lines: [{ child: child.id, unit: row.unit, date: cell.date, action: cell.action.kind }] },
      });
      sayWithBasket(near, `${row.name}, ${frenchDate(cell.date)} : ${cell.action.kind === 'add' ? 'réservation' : 'annulation'} ajoutée au panier.`);
    }
  } catch (problem) {
    sayHere(near, problem.lines?.[0]?.error?.message || problem.title, true);
  }
  showBasket();
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

if (me) {
  try {
    state.children = await api('/calendar/children');
  } catch (problem) { say(message, problem.title, true); }
  const seen = new Map();
  for (const c of state.children) for (const a of c.activities) seen.set(`${a.activity}|${a.site}`, a);
  state.choices = [...seen.values()];
  if (state.choices.length === 0) {
    say(message, "Aucun enfant n’est inscrit à un service : contactez la mairie.");
  } else {
    document.getElementById('service').replaceChildren(...state.choices.map((c, i) => el('option', { value: String(i) }, `${c.name} – ${c.site_name}`)));
    renderChildren();
    const asked = new URLSearchParams(location.search).get('semaine');
    state.monday = asked ? mondayOf(asked) : null;
    document.getElementById('service').addEventListener('change', () => { clearAnswers(); renderChildren(); loadGrid(); });
    document.getElementById('enfant').addEventListener('change', () => {
      clearAnswers();
      for (const i of document.querySelectorAll('#enfants-periode input')) i.checked = i.value === document.getElementById('enfant').value;
      loadGrid();
    });
    // « Précédent » and « Suivant » move by the view's length.
    document.getElementById('precedent').addEventListener('click', () => { state.monday = addDays(state.monday, -7 * viewWeeks()); loadGrid(); });
    document.getElementById('suivant').addEventListener('click', () => { state.monday = addDays(state.monday, 7 * viewWeeks()); loadGrid(); });
    large.addEventListener('change', loadGrid);
    document.getElementById('aujourdhui').addEventListener('click', () => { state.monday = null; loadGrid(); });
    startPeriod(ctx);
    // The week grid or the period view, one tap apart.
    const showView = (period) => {
      clearAnswers();
      document.getElementById('vue-grille').hidden = period;
      document.getElementById('vue-periode').hidden = !period;
      document.getElementById('bouton-semaine').setAttribute('aria-pressed', String(!period));
      document.getElementById('bouton-periode').setAttribute('aria-pressed', String(period));
      const form = document.getElementById('periode');
      if (period && !form.elements.from.value) form.elements.from.value = state.grid.weeks[0].days[0];
    };
    document.getElementById('bouton-semaine').addEventListener('click', () => showView(false));
    document.getElementById('bouton-periode').addEventListener('click', () => showView(true));
    await loadGrid();
    // Shown whole once the first grid is in (nothing moves under the parent's finger).
    document.getElementById('page').hidden = false;
  }
}
