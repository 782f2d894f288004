// « Réserver en vue Période »: dates up to the next holidays or the end of the school year, a
// preview per child, then the lines added to the basket.
import { api, el, euros, frenchDate } from '../portail.js';
import { stateLabel } from './cellules.js';
import { state, addDays, selectedChoice, selectedChild, sayHere, sayWithBasket } from './etat.js';
import { plural, fr, hours } from '../typo.js';

/** Wires the period form and its two date buttons. `ctx`: `{ me, loadGrid }`. */
export function startPeriod(ctx) {
  document.getElementById('periode').addEventListener('submit', (event) => preview(ctx, event));
  document.getElementById('jusqu-vacances').addEventListener('click', () => untilHolidays(false));
  document.getElementById('fin-annee').addEventListener('click', () => untilHolidays(true));
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
    if (!day) { sayHere(near, 'Pas de vacances scolaires dans l’année qui vient.', true); return; }
    form.elements.to.value = addDays(day.date, -1);
    sayHere(near, `Jusqu’au ${frenchDate(form.elements.to.value)}, veille des ${day.school_holiday.charAt(0).toLowerCase()}${day.school_holiday.slice(1)}.`);
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

/** Why a day is skipped; a booked day past its cancellation deadline says until when it could
 * be cancelled and what it costs now. */
function skippedWhy(x) {
  if (x.late_cancel_price === undefined) return stateLabel(x);
  const until = x.cancel_deadline ? ` le ${frenchDate(new Date(x.cancel_deadline).toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' }))} à ${hours(new Date(x.cancel_deadline))}` : '';
  return `${stateLabel(x)}, délai d’annulation dépassé${until} : reste facturé ${euros(x.late_cancel_price)}`;
}

/** The children the period is for: those ticked under « Enfants » (the grid's child by default). */
function periodChildren() {
  const ticked = [...document.querySelectorAll('#enfants-periode input:checked')].map((i) => i.value);
  const chosen = state.children.filter((c) => ticked.includes(c.id));
  return chosen.length ? chosen : [selectedChild()];
}

async function preview(ctx, event) {
  const { me, loadGrid } = ctx;
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
    const cancelling = body.action === 'cancel';
    const count = previews.reduce((n, p) => n + p.lines.length, 0);
    const total = previews.reduce((n, p) => n + p.total, 0);
    const add = el('button', { type: 'button', disabled: count === 0 }, 'Ajouter au panier');
    // The answer next to the button the parent just pressed, not at the top of the page, with
    // the next step: the basket.
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
        sayWithBasket(told, `${plural(added, 'ligne ajoutée', 'lignes ajoutées')} au panier.`);
      } catch (problem) {
        if (added) await loadGrid();
        if (added) sayWithBasket(told, `${plural(added, 'ligne ajoutée', 'lignes ajoutées')} au panier ; ${problem.title}`);
        else sayHere(told, problem.title, true);
        add.disabled = false;
      }
    });
    const several = children.length > 1;
    const days = (n) => plural(n, 'jour');
    // The summary and « Ajouter au panier » first; the dates on demand (a year of Tuesdays is
    // a long list on a phone).
    const parts = [el('h3', { id: 'titre-apercu', tabindex: '-1' }, fr(`Aperçu : ${days(count)} ${cancelling ? 'à annuler' : 'à réserver'}${several ? ` pour ${children.length} enfants` : ''}, total ${euros(total)}`)), add, told];
    children.forEach((child, i) => {
      const p = previews[i];
      if (several) parts.push(el('h4', {}, fr(`${child.first_name} : ${days(p.lines.length)}, ${euros(p.total)}`)));
      if (p.lines.length) {
        parts.push(el('details', {}, el('summary', {}, `Voir ${p.lines.length > 1 ? `les ${p.lines.length} dates` : 'la date'}${several ? ` de ${child.first_name}` : ''}`),
          el('ul', {}, ...p.lines.map((l) => el('li', {}, `${frenchDate(l.date)} – ${unitName(l.unit)} – ${euros(l.price)}`)))));
      }
      if (p.skipped.length) {
        // Open when a booked day stays billed: the parent must see what it costs.
        const billed = p.skipped.some((x) => x.late_cancel_price !== undefined);
        parts.push(el('details', { open: billed }, el('summary', {}, `${plural(p.skipped.length, 'jour ignoré', 'jours ignorés')}${several ? ` pour ${child.first_name}` : ''}`),
          el('ul', {}, ...p.skipped.map((x) => el('li', {}, fr(`${frenchDate(x.date)} – ${unitName(x.unit)} – ${skippedWhy(x)}`))))));
      }
    });
    out.replaceChildren(...parts);
    out.querySelector('h3').scrollIntoView({ block: 'nearest' });
  } catch (problem) { sayHere(near, problem.title, true); }
}
