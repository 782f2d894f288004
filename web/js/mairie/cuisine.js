// « Cuisine »: the week's counts per unit and day, printable.
import { api, say, el, frenchDate } from '../portail.js';
import { printButton, NNBSP } from './commun.js';

/** Opens on this week, wires « Afficher les effectifs ». */
export function startKitchen(ctx, today) {
  document.getElementById('semaine').value = today;
  document.getElementById('choix-cuisine').addEventListener('submit', (event) => showKitchen(ctx, event));
}

/** The children expected with an allergy or a PAI, day by day, and what to do (only roles the
 * town names for health data receive them; the read is in the journal). */
function healthList(days) {
  const flagged = days.filter((d) => d.health?.length);
  if (flagged.length === 0) return [];
  return [el('h3', {}, 'Allergies et PAI des enfants attendus'),
    ...flagged.map((d) => el('section', { class: 'allergies-jour', 'aria-label': frenchDate(d.date) },
      el('h4', {}, frenchDate(d.date)),
      el('ul', {}, ...d.health.map((f) => el('li', {},
        el('strong', {}, `${f.first_name} ${f.last_name}`), ` (${f.unit_name})${NNBSP}: `,
        [...f.allergies, ...(f.pai_until ? [`PAI jusqu’au ${frenchDate(f.pai_until)}`] : [])].join(', '),
        el('ul', {}, ...f.what_to_do.map((w) => el('li', {}, w))))))))];
}

/** The week's counts per unit and day, and under each unit the meals without pork, the
 * vegetarian ones and the PAIs among them. */
async function showKitchen(ctx, event) {
  const { message } = ctx;
  event?.preventDefault();
  const week = document.getElementById('semaine').value;
  try {
    const days = await api(`/staff/kitchen?week=${week}`);
    const names = [...new Set(days.flatMap((d) => d.counts.map((c) => c.unit_name)))];
    const sum = (d, n, key) => d.counts.filter((c) => c.unit_name === n).reduce((a, c) => a + c[key], 0);
    const rows = names.flatMap((n) => [['count', n, 'total'], ['sans_porc', `${n} – dont sans porc`, 'detail'], ['vegetarien', `${n} – dont végétarien`, 'detail'], ['pai', `${n} – dont PAI`, 'detail']]
      .filter(([key]) => key === 'count' || days.some((d) => sum(d, n, key) > 0))
      .map(([key, label, kind]) => el('tr', { class: kind }, el('th', { scope: 'row' }, label),
        ...days.map((d) => el('td', { class: 'montant' }, String(sum(d, n, key)))))));
    document.getElementById('effectifs').replaceChildren(el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-label': 'Effectifs' }, el('table', { class: 'effectifs' },
      el('caption', {}, 'Enfants attendus par jour, et parmi eux les repas sans porc, végétariens et les PAI'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Prestation'), ...days.map((d) => el('th', { scope: 'col' }, frenchDate(d.date))))),
      el('tbody', {}, ...rows))),
      ...healthList(days),
      printButton('cuisine', 'Imprimer les effectifs'));
  } catch (p) { say(message, p.title, true); }
}
