// « Heures CAF » (tab « Facturation »): the hours attended in a year per unit, by age band and
// residence, for the town's declaration to the CAF, and the CSV of it month by month.
import { api, say, el, town } from '../portail.js';

const hours = new Intl.NumberFormat('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** « 12,50 h » from minutes. */
function h(minutes) {
  return `${hours.format(minutes / 60).replace(/\u00a0/g, '\u202f')}\u202fh`;
}

/** Opens on the year of `today` (the past year in January), wires « Afficher les heures ». */
export function startCafHours(ctx, today) {
  document.getElementById('heures-caf').hidden = false;
  const [y, m] = today.split('-').map(Number);
  document.getElementById('annee-caf').value = String(m === 1 ? y - 1 : y);
  document.getElementById('choix-caf').addEventListener('submit', (event) => showCafHours(ctx, event));
}

async function showCafHours(ctx, event) {
  event?.preventDefault();
  const year = document.getElementById('annee-caf').value.trim();
  const box = document.getElementById('tableau-caf');
  if (!/^\d{4}$/.test(year)) { say(ctx.message, 'L’année s’écrit sur quatre chiffres (AAAA).', true); return; }
  try {
    const r = await api(`/staff/caf-hours?year=${year}`);
    const cols = [['under_6_resident', 'Moins de 6 ans, résidents'], ['under_6_non_resident', 'Moins de 6 ans, non résidents'],
      ['six_and_over_resident', '6 ans et plus, résidents'], ['six_and_over_non_resident', '6 ans et plus, non résidents'], ['all', 'Total']];
    const rows = r.units.map((u) => el('tr', {}, el('th', { scope: 'row' }, u.name),
      ...cols.map(([k]) => el('td', { class: 'montant' }, `${h(u.total[k].minutes)} (${u.total[k].children} enf.)`))));
    const unmarked = r.units.reduce((n, u) => n + u.months.reduce((a, m) => a + m.unmarked, 0), 0);
    const notes = [];
    if (r.without_duration.length) notes.push(`Sans durée de séance configurée, donc non comptées\u202f: ${r.without_duration.join(', ')}.`);
    if (unmarked) notes.push(`${unmarked} séance${unmarked > 1 ? 's' : ''} réservée${unmarked > 1 ? 's' : ''} sans pointage ne ${unmarked > 1 ? 'sont' : 'est'} pas comptée${unmarked > 1 ? 's' : ''}\u202f: pointez-${unmarked > 1 ? 'les' : 'la'} d’abord.`);
    const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/caf-hours?year=${year}&format=csv`, download: '' }, `Télécharger les heures ${year} mois par mois (tableur, CSV)`);
    box.replaceChildren(
      el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-label': 'Heures CAF' }, el('table', {},
        el('caption', {}, `Heures réalisées en ${year} (enfants distincts entre parenthèses)`),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Prestation'), ...cols.map(([, label]) => el('th', { scope: 'col' }, label)))),
        el('tbody', {}, ...rows))),
      ...notes.map((n) => el('p', { class: 'aide' }, n)),
      csv);
  } catch (p) { say(ctx.message, p.title, true); }
}
