// « Inscriptions 2027-2028 »: the family's answer to the year's campaign, one step per screen
// (children and activities, the rules, documents and sending), saved at each step and resumed
// where it stopped. The year is the page's `annee` parameter.
import { api, say, sayInView, linkTown, session, el, frenchDate, uid, problemText, town } from './portail.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);
const year = new URLSearchParams(location.search).get('annee') || '';
const STEPS = { children: 'etape-enfants', rules: 'etape-reglement', submit: 'etape-envoi', done: 'etape-fini' };
const LABELS = [['children', 'Mes enfants'], ['rules', 'Le règlement'], ['submit', 'Documents et envoi']];
let view = null;
let editing = false;

const family = () => me.families[0];
const uri = () => `/families/${encodeURIComponent(family())}/enrolments/${encodeURIComponent(year)}`;

/** The answers as the form shows them. */
function answers() {
  return view.children.map((c) => ({
    child: c.id,
    confirmed: document.getElementById(`confirme-${c.id}`)?.checked ?? false,
    activities: view.offers.filter((o) => document.getElementById(`activite-${c.id}-${o.activity}`)?.checked).map((o) => o.activity),
  }));
}

function childBlock(c) {
  const before = view.enrolment?.children.find((a) => a.child === c.id);
  const facts = [c.school, c.class, c.level?.level].filter(Boolean).join(' – ');
  const confirm = uid('confirme');
  const box = el('fieldset', { class: 'enfant' }, el('legend', {}, `${c.first_name} ${c.last_name}`),
    el('p', { class: 'aide' }, `Né(e) le ${frenchDate(c.birth_date)}${facts ? ` – ${facts}` : ''}${c.health_notes ? ` – Santé : ${c.health_notes}` : ''}`));
  // The child's file is filled and corrected on its own page, part by part, then confirmed here.
  const fileGaps = c.gaps.filter((g) => !g.pending).map((g) => g.label);
  const fiche = `fiche.html?commune=${encodeURIComponent(town)}&enfant=${encodeURIComponent(c.id)}`;
  box.append(el('p', {}, el('a', { href: fiche }, `Vérifier ou compléter la fiche de ${c.first_name}`),
    fileGaps.length ? ` – à compléter\u202f: ${fileGaps.join(', ')}` : ''));
  const input = el('input', { type: 'checkbox', id: `confirme-${c.id}`, checked: before?.confirmed ?? false });
  box.append(el('label', { class: 'en-ligne', for: `confirme-${c.id}`, id: confirm }, input, ' Les informations de cette fiche sont à jour'));
  for (const o of view.offers) {
    const id = `activite-${c.id}-${o.activity}`;
    const needs = o.requires.length ? ` (à fournir : ${o.requires.join(', ')})` : '';
    box.append(el('label', { class: 'en-ligne', for: id },
      el('input', { type: 'checkbox', id, checked: before?.activities.includes(o.activity) ?? false }), ` ${o.name}${needs}`));
  }
  return box;
}

function show() {
  const step = editing ? 'children' : view.step;
  document.querySelector('h1').textContent = `Inscriptions ${view.year}`;
  document.getElementById('periode').textContent = view.open
    ? `Les inscriptions sont ouvertes jusqu’au ${frenchDate(view.closes_on)}.`
    : `Les inscriptions sont fermées (du ${frenchDate(view.opens_on)} au ${frenchDate(view.closes_on)}).`;
  document.getElementById('etapes').replaceChildren(...LABELS.map(([s, label]) =>
    el('li', { 'aria-current': s === step ? 'step' : false }, label)));
  for (const [s, id] of Object.entries(STEPS)) document.getElementById(id).hidden = s !== step;
  document.getElementById('enfants').replaceChildren(...view.children.map(childBlock));
  document.getElementById('accepte').checked = Boolean(view.enrolment?.rules);
  document.getElementById('texte-reglement').textContent = `J’ai lu et j’accepte le règlement intérieur (version ${view.rules_version}).`;
  const gaps = view.children.flatMap((c) => c.gaps.map((g) => `${c.first_name} : ${g.label}`));
  document.getElementById('manquants').replaceChildren(gaps.length
    ? el('ul', { 'aria-label': 'À compléter' }, ...gaps.map((g) => el('li', {}, g)))
    : el('p', {}, 'Rien ne manque.'));
  document.getElementById('statuts').replaceChildren(el('ul', {}, ...view.children.map((c) =>
    el('li', {}, `${c.first_name} : ${c.status_label}${c.gaps.length ? ` (${c.gaps.map((g) => g.label).join(', ')})` : ''}`))));
  if (view.enrolment?.corrections) say(message, `Le service enfance demande une correction : ${view.enrolment.corrections.reason}`, true);
  document.getElementById('page').hidden = false;
}

async function save(body) {
  try {
    view = await api(uri(), { method: 'PUT', csrf: me.csrf_token, body });
    editing = false;
    show();
    document.querySelector(`#${STEPS[view.step]} h2`)?.focus?.();
    return true;
  } catch (p) { sayInView(message, problemText(p), true); return false; }
}

document.getElementById('form-enfants').addEventListener('submit', (e) => {
  e.preventDefault();
  save({ children: answers() });
});
document.getElementById('form-reglement').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!document.getElementById('accepte').checked) { sayInView(message, 'Cochez la case pour accepter le règlement intérieur.', true); return; }
  save({ children: view.enrolment?.children ?? [], accept_rules: view.rules_version });
});
document.getElementById('envoyer').addEventListener('click', async () => {
  if (await save({ children: view.enrolment?.children ?? [], submit: true })) sayInView(message, 'Votre inscription est envoyée : le service enfance va la vérifier.');
});
document.getElementById('modifier').addEventListener('click', () => { editing = true; show(); });

if (me) {
  try {
    view = await api(uri());
    show();
  } catch (p) { sayInView(message, problemText(p), true); }
}
