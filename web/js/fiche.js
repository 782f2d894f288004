// « Fiche enfant »: a guardian's child's file, one part at a time (santé, personnes,
// autorisations, assurance), saved whole as a new version for the service to check.
import { api, say, sayInView, session, linkTown, el, field, uid, problemText } from './portail.js';

const main = document.getElementById('contenu');
const message = document.getElementById('message');
const select = document.getElementById('enfant');
const part = document.getElementById('partie');
const steps = document.getElementById('etapes');
const form = document.getElementById('fiche');
const PARTS = [['health', 'Santé'], ['people', 'Personnes'], ['consents', 'Autorisations'], ['insurance', 'Assurance']];
const CONSENTS = [
  ['photos_internal', 'Photos (usage interne)'], ['photos_publication', 'Photos (publication)'], ['outings', 'Sorties'],
  ['transport', 'Transport en véhicule municipal'], ['emergency_care', 'Soins d’urgence et hospitalisation'], ['go_home_alone', 'Rentrer seul'],
];
const STATUS = { to_check: 'À vérifier par le service enfance.', validated: 'Vérifiée par le service enfance.', correction_asked: 'Correction demandée' };
let family = null;
let view = null;
let file = null;
let current = 0;
let csrf = null;

/** A text or date input bound to `obj[key]`. */
function bound(label, obj, key, { options, ...attrs } = {}) {
  let [l, input] = [];
  if (options) {
    const id = uid('choix');
    l = el('label', { for: id }, label);
    input = el('select', { id }, ...options.map(([v, t]) => el('option', { value: v, selected: obj[key] === v }, t)));
  } else {
    [l, input] = field(label, { value: obj[key] ?? '', ...attrs });
  }
  input.dataset.path = attrs.path || key;
  input.addEventListener(options ? 'change' : 'input', () => { obj[key] = input.value; });
  return el('div', { class: 'champ' }, l, input);
}

/** A list of entries, each with its fields and « Retirer », and « Ajouter ». */
function list(title, items, max, blank, fields, path) {
  const box = el('fieldset', {}, el('legend', {}, title));
  items.forEach((item, i) => {
    const inner = el('fieldset', { class: 'grille' }, el('legend', {}, `${title} ${i + 1}`),
      ...fields.map(([key, label, attrs]) => bound(label, item, key, { ...attrs, path: `${path}[${i}].${key}` })));
    inner.append(el('button', { type: 'button', class: 'secondaire', onclick: () => { items.splice(i, 1); show(); } }, 'Retirer'));
    box.append(inner);
  });
  if (items.length < max) box.append(el('button', { type: 'button', class: 'secondaire', onclick: () => { items.push(blank()); show(); } }, `Ajouter (${items.length}/${max})`));
  return box;
}

const person = [['name', 'Nom et prénom', { maxlength: 100 }], ['relationship', 'Lien avec l’enfant', { maxlength: 100 }], ['phone', 'Téléphone', { type: 'tel', autocomplete: 'tel', inputmode: 'tel' }]];

function health() {
  const h = file.health;
  h.allergies ||= [];
  const pai = el('input', { type: 'checkbox', id: 'pai', checked: !!h.pai, onchange: (e) => { h.pai = e.target.checked ? { reason: '', ends: '' } : undefined; show(); } });
  const diet = el('select', { id: 'regime', onchange: (e) => { h.diet = e.target.value; } },
    ...[['standard', 'Standard'], ['sans_porc', 'Sans porc'], ['vegetarien', 'Végétarien']].map(([v, t]) => el('option', { value: v, selected: h.diet === v }, t)));
  h.doctor ||= { name: '', phone: '' };
  return [
    list('Allergie', h.allergies, 10, () => ({ kind: 'food', name: '', what_to_do: '' }), [
      ['kind', 'Type', { options: [['food', 'Alimentaire'], ['medicine', 'Médicamenteuse'], ['other', 'Autre']] }],
      ['name', 'Allergie à', { maxlength: 100 }], ['what_to_do', 'Conduite à tenir', { rows: 3, maxlength: 1000 }],
    ], 'health.allergies'),
    el('div', { class: 'champ' }, pai, el('label', { for: 'pai' }, 'Un PAI (projet d’accueil individualisé) est en cours')),
    ...(h.pai ? [bound('Motif du PAI', h.pai, 'reason', { path: 'health.pai.reason', maxlength: 1000 }), bound('Fin du PAI', h.pai, 'ends', { type: 'date', path: 'health.pai.ends' })] : []),
    el('div', { class: 'champ' }, el('label', { for: 'regime' }, 'Régime à la cantine'), diet),
    bound('Traitement régulier', h, 'treatment', { rows: 2, maxlength: 1000, path: 'health.treatment' }),
    bound('Médecin traitant', h.doctor, 'name', { maxlength: 100, path: 'health.doctor.name' }),
    bound('Téléphone du médecin', h.doctor, 'phone', { type: 'tel', inputmode: 'tel', path: 'health.doctor.phone' }),
    bound('Date du dernier rappel DTP', h, 'dtp_booster', { type: 'date', path: 'health.dtp_booster' }),
    bound('À savoir (lunettes, asthme…)', h, 'notes', { rows: 2, maxlength: 1000, path: 'health.notes' }),
  ];
}

function people() {
  const p = file.people;
  for (const k of ['pickup', 'emergency', 'forbidden']) p[k] ||= [];
  const blank = () => ({ name: '', relationship: '', phone: '' });
  return [
    list('Personne autorisée à venir chercher l’enfant', p.pickup, 6, blank, person, 'people.pickup'),
    el('p', { class: 'aide' }, 'Une pièce d’identité leur est demandée.'),
    list('Contact en cas d’urgence', p.emergency, 4, blank, person, 'people.emergency'),
    list('Personne qui ne doit jamais venir chercher l’enfant', p.forbidden, 4, () => ({ name: '', court_decision: '' }), [
      ['name', 'Nom et prénom', { maxlength: 100 }], ['court_decision', 'Décision de justice (tribunal, date, référence)', { rows: 2, maxlength: 1000 }],
    ], 'people.forbidden'),
  ];
}

function consents() {
  return CONSENTS.map(([kind, label], i) => {
    const given = file.consents.find((c) => c.kind === kind);
    const set = (yes) => { file.consents = file.consents.filter((c) => c.kind !== kind).concat([{ kind, given: yes }]); };
    const radio = (yes, text) => {
      const id = `consent-${kind}-${yes}`;
      return el('span', {}, el('input', { type: 'radio', name: kind, id, checked: given ? given.given === yes : false, onchange: () => set(yes) }), el('label', { for: id }, text));
    };
    const when = given && given.on ? ` (le ${given.on.split('-').reverse().join('/')})` : '';
    return el('fieldset', { 'data-path': `consents[${i}]` }, el('legend', {}, label + when), radio(true, 'Oui'), radio(false, 'Non'));
  });
}

function insurance() {
  file.insurance ||= { insurer: '', policy: '', valid_until: '' };
  const i = file.insurance;
  return [
    bound('Assureur', i, 'insurer', { maxlength: 100, path: 'insurance.insurer' }),
    bound('Numéro de contrat', i, 'policy', { maxlength: 100, path: 'insurance.policy' }),
    bound('Valable jusqu’au', i, 'valid_until', { type: 'date', path: 'insurance.valid_until' }),
  ];
}

/** Shows the current part, and the parts as steps. */
function show() {
  steps.replaceChildren(...PARTS.map(([, title], i) => el('button', {
    type: 'button', class: i === current ? '' : 'secondaire', 'aria-current': i === current ? 'step' : false, onclick: () => { current = i; show(); },
  }, `${i + 1}. ${title}`)));
  const [key, title] = PARTS[current];
  const body = { health, people, consents, insurance }[key]();
  part.replaceChildren(el('h2', {}, title), ...body);
  document.getElementById('precedent').hidden = current === 0;
  document.getElementById('suivant').hidden = current === PARTS.length - 1;
}

/** The file to send: blank optional parts left out. */
function cleaned() {
  const f = structuredClone(file);
  const h = f.health;
  if (h.doctor && !h.doctor.name && !h.doctor.phone) delete h.doctor;
  for (const k of ['treatment', 'notes', 'dtp_booster']) if (!h[k]) delete h[k];
  if (f.insurance && !f.insurance.insurer && !f.insurance.policy && !f.insurance.valid_until) delete f.insurance;
  return f;
}

function render(v) {
  view = v;
  file = structuredClone(v.file);
  file.health ||= {};
  file.people ||= {};
  file.consents ||= [];
  const status = v.status ? STATUS[v.status] : 'Pas encore remplie.';
  document.getElementById('etat').textContent = v.status === 'correction_asked' ? `${status} : ${v.reason}` : `Version ${v.version}. ${status}`;
  document.getElementById('manquant').replaceChildren(...v.missing.map((m) => el('li', {}, `À compléter : ${m.label}`)));
  show();
}

async function load() {
  const child = select.value;
  render(await api(`/families/${family}/children/${child}/file`));
}

const SECTION_OF = { health: 0, people: 1, consents: 2, insurance: 3 };
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    render(await api(`/families/${family}/children/${select.value}/file`, { method: 'PUT', body: { version: view.version, file: cleaned() }, csrf }));
    sayInView(message, 'Fiche enregistrée : le service enfance va la vérifier.');
  } catch (p) {
    // A refused field takes the focus (its message is read with it); otherwise the answer does.
    const refused = p.field && (current = SECTION_OF[p.field.split(/[.[]/)[0]] ?? current, show(), part.querySelector(`[data-path="${CSS.escape(p.field)}"]`));
    if (refused) { say(message, problemText(p), true); refused.focus(); } else sayInView(message, problemText(p), true);
  }
});
document.getElementById('precedent').addEventListener('click', () => { current -= 1; show(); });
document.getElementById('suivant').addEventListener('click', () => { current += 1; show(); });
select.addEventListener('change', () => load().catch((p) => say(message, p.title, true)));

linkTown();
const s = await session(main);
if (s) {
  csrf = s.csrf_token;
  family = s.families[0];
  const f = await api(`/families/${family}`);
  const wanted = new URLSearchParams(location.search).get('enfant');
  select.replaceChildren(...f.children_details.map((c) => el('option', { value: c.id, selected: c.id === wanted }, c.first_name)));
  // Shown once the file is drawn: its status and missing parts filled above the form would
  // otherwise push the form down (a layout shift of 0.46 on a phone).
  await load().catch((p) => say(message, p.title, true));
  document.getElementById('page').hidden = false;
}
