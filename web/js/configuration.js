// « Espace mairie » › Configuration de la commune: forms for what a town changes most often (its
// closure days; each unit's prices, capacity and deadlines), over the same versioned
// configuration as the JSON editor below them. Each form edits a copy of the configuration
// read and saves it whole (PUT …/staff/config with the version read): the server checks it
// like the configuration file and refuses a change made meanwhile.
import { confirmAct } from './mairie/confirmer.js';
import { say, el, frenchDate, field } from './portail.js';

// "2,50" or "2.5" → 250 cents; null when it is not an amount.
export function cents(text) {
  const t = String(text).trim().replace(/\s|€/g, '').replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
  const [units, dec = ''] = t.split('.');
  return Number(units) * 100 + Number(dec.padEnd(2, '0'));
}
const amount = (c) => (c === null || c === undefined ? '' : (c / 100).toFixed(2).replace('.', ','));

// ctx: { me, message, load: () => Promise<{version, config}>, save: (config) => Promise<void> }.
function closuresForm(view, ctx) {
  const { config, today } = view;
  const activityNames = new Map(config.activities.map((a) => [a.id, a.name]));
  const keep = new Set(config.closures.map((_, i) => i));
  const list = el('ul', { class: 'liste' }, ...config.closures.map((c, i) => {
    const what = c.activities?.length ? c.activities.map((a) => activityNames.get(a) || a).join(', ') : 'tous les services';
    const past = c.date < today;
    const remove = el('button', { type: 'button', class: 'secondaire', disabled: past }, 'Supprimer', el('span', { class: 'visually-hidden' }, ` la fermeture du ${frenchDate(c.date)}`));
    const item = el('li', {}, `${frenchDate(c.date)} – ${c.reason} (${what}) `, past ? el('span', { class: 'aide' }, '(passée)') : remove);
    remove.addEventListener('click', () => { keep.delete(i); item.remove(); });
    return item;
  }));
  const date = field('Date de fermeture', { type: 'date', name: 'date', min: today });
  const reason = field('Motif', { name: 'reason', maxlength: 200 });
  const services = el('fieldset', { class: 'marques' }, el('legend', {}, 'Services fermés (aucun coché : tous)'),
    ...config.activities.map((a) => el('label', { class: 'en-ligne' }, el('input', { type: 'checkbox', name: 'activities', value: a.id }), ` ${a.name}`)));
  const form = el('form', { class: 'fiche', novalidate: true },
    el('h3', {}, 'Fermetures'),
    config.closures.length ? list : el('p', {}, 'Aucune fermeture exceptionnelle.'),
    el('h4', {}, 'Ajouter une fermeture'), ...date, ...reason, services,
    el('button', { type: 'submit' }, 'Enregistrer les fermetures'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const closures = config.closures.filter((_, i) => keep.has(i));
    if (data.get('date')) {
      if (!data.get('reason').trim()) { say(ctx.message, 'Indiquez le motif de la fermeture.', true); return; }
      const activities = data.getAll('activities');
      closures.push({ date: data.get('date'), reason: data.get('reason').trim(), ...(activities.length ? { activities } : {}) });
    }
    closures.sort((a, b) => a.date.localeCompare(b.date));
    const added = closures.filter((c) => !config.closures.some((o) => o.date === c.date && o.reason === c.reason));
    const save = () => ctx.save({ ...config, closures }, 'Fermetures enregistrées.');
    if (!added.length || !ctx.impact) { await save(); return; }
    // Staff see what the closure cancels before it does.
    const n = await ctx.impact(added).catch(() => null);
    if (!n || n.bookings === 0) { await save(); return; }
    const n2 = (k, one, many) => `${k} ${k > 1 ? many : one}`;
    const cancelled = n.bookings - n.billed;
    const sure = await confirmAct({
      title: 'Confirmer la fermeture\u202f?',
      consequences: [
        `Cette fermeture annule ${n2(cancelled, 'réservation', 'réservations')} de ${n2(n.children, 'enfant', 'enfants')} (${n2(n.families, 'famille', 'familles')}). Les familles seront prévenues par e-mail et ces jours ne leur seront pas facturés.`,
        ...(n.billed ? [`${n2(n.billed, 'réservation d’un mois déjà facturé reste facturée', 'réservations d’un mois déjà facturé restent facturées')}\u202f: corrigez-les par un avoir.`] : []),
      ],
      confirm: 'Confirmer la fermeture',
    });
    if (sure) await save();
  });
  return form;
}

const COUNT_UNITS = [['working_days', 'jours ouvrés'], ['calendar_days', 'jours calendaires']];
// A whole number typed in a number input ('' when empty), or null.
const whole = (input) => (input.validity.badInput || !/^\d*$/.test(input.value.trim()) ? null : input.value.trim());

function unitsForm(view, ctx) {
  const { config } = view;
  const rows = [];
  const sections = config.activities.flatMap((a, ai) => a.units.map((u, ui) => {
    const price = field('Tarif de base (€)', { inputmode: 'decimal', value: amount(u.price.base), required: true });
    const nonResident = field('Tarif hors commune (€, vide : le même)', { inputmode: 'decimal', value: amount(u.price.non_resident) });
    const capacity = field('Capacité (vide : sans limite)', { type: 'number', min: 1, step: 1, value: u.capacity ?? '' });
    const addN = field('Réserver au plus tard (nombre)', { type: 'number', min: 0, max: 60, step: 1, value: u.add_deadline.n });
    const cancelN = field('Annuler au plus tard (nombre)', { type: 'number', min: 0, max: 60, step: 1, value: u.cancel_deadline.n });
    const unitOf = (d) => el('span', { class: 'aide' }, ` ${COUNT_UNITS.find(([k]) => k === d.unit)?.[1] || d.unit} avant, jusqu'à ${d.cutoff}`);
    const brackets = (u.price.qf_brackets || []).map((b) => {
      const f = field(`Tarif jusqu'au quotient ${b.up_to_qf} (€)`, { inputmode: 'decimal', value: amount(b.price), required: true });
      return { b, input: f[1], nodes: f };
    });
    rows.push({ ai, ui, price: price[1], nonResident: nonResident[1], capacity: capacity[1], addN: addN[1], cancelN: cancelN[1], brackets, name: u.name });
    const cell = (pair, ...extra) => el('div', {}, ...pair, ...extra);
    return el('fieldset', { class: 'grille' }, el('legend', {}, `${u.name} (${a.name})`),
      cell(price), cell(nonResident), ...brackets.map((x) => cell(x.nodes)), cell(capacity),
      cell(addN, unitOf(u.add_deadline)), cell(cancelN, unitOf(u.cancel_deadline)));
  }));
  const form = el('form', { class: 'fiche', novalidate: true },
    el('h3', {}, 'Tarifs, capacités et délais'),
    el('p', { class: 'aide' }, 'Les nouveaux tarifs valent pour les réservations faites à partir de maintenant ; une réservation garde son prix.'),
    ...sections, el('button', { type: 'submit' }, 'Enregistrer les tarifs et délais'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const next = structuredClone(config);
    for (const r of rows) {
      const u = next.activities[r.ai].units[r.ui];
      const base = cents(r.price.value);
      const nonResident = r.nonResident.value.trim() === '' ? undefined : cents(r.nonResident.value);
      const badBracket = r.brackets.find((x) => cents(x.input.value) === null);
      if (base === null || nonResident === null || badBracket) {
        say(ctx.message, `${r.name} : écrivez les tarifs en euros, par exemple 2,50.`, true);
        (badBracket?.input || (base === null ? r.price : r.nonResident)).focus();
        return;
      }
      const badNumber = [r.capacity, r.addN, r.cancelN].find((i) => whole(i) === null || (i !== r.capacity && whole(i) === ''));
      if (badNumber) {
        say(ctx.message, `${r.name} : écrivez un nombre entier.`, true);
        badNumber.focus();
        return;
      }
      u.price.base = base;
      if (nonResident === undefined) delete u.price.non_resident; else u.price.non_resident = nonResident;
      r.brackets.forEach((x, i) => { u.price.qf_brackets[i].price = cents(x.input.value); });
      if (r.capacity.value.trim() === '') delete u.capacity; else u.capacity = Number(r.capacity.value);
      u.add_deadline.n = Number(r.addN.value);
      u.cancel_deadline.n = Number(r.cancelN.value);
    }
    await ctx.save(next, 'Tarifs, capacités et délais enregistrés : ils valent pour les réservations à venir.');
  });
  return form;
}

// Draws both forms in `box` from the configuration read.
export function showForms(box, view, ctx) {
  box.replaceChildren(closuresForm(view, ctx), unitsForm(view, ctx));
}
