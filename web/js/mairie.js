// « Espace mairie »: publish news, decide requests, take attendance (and export it), see the
// week's counts. Staff only: the API refuses anyone else.
import { api, say, linkTown, session, el, town, frenchDate, frenchInstant, euros, newKey, fileType, problemText, onSubmit, field } from './portail.js';
import { showRecords } from './fiche-famille.js';
import { showForms } from './configuration.js';
import { loadUnpaid, loadAnomalies, debitActions } from './encaissements.js';
import { loadRegularisations } from './regularisations.js';
import { NEWS_CATEGORIES, BOOKING_STATUSES_STAFF, ATTENDANCE_MARKS, ATTENDANCE } from './libelles.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);
let units = [];

/** « Espace mairie » in tabs, one tap each: the address's fragment names a tab (`#cuisine`) or a
 * section in one (`#pointage`); the page opens on today's work (requests, documents,
 * attendance). */
function showTab() {
  const wanted = location.hash.slice(1);
  const sections = [...document.querySelectorAll('section[data-onglet]')];
  const tab = sections.some((x) => x.dataset.onglet === wanted) ? wanted
    : sections.find((x) => x.id === wanted)?.dataset.onglet || 'aujourdhui';
  for (const x of sections) x.classList.toggle('onglet-cache', x.dataset.onglet !== tab);
  for (const a of document.querySelectorAll('#onglets a')) {
    if (a.getAttribute('href') === `#${tab}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const target = document.getElementById(wanted);
  if (target && !target.classList.contains('onglet-cache')) target.scrollIntoView();
  else window.scrollTo(0, 0);
}
window.addEventListener('hashchange', showTab);
showTab();
let townConfig = null;

async function loadNews() {
  const page = await api('/staff/news?per_page=50');
  document.getElementById('liste-actualites').replaceChildren(...page.items.map((a) => {
    const remove = el('button', { type: 'button', class: 'secondaire' }, 'Supprimer', el('span', { class: 'visually-hidden' }, ` « ${a.title} »`));
    remove.addEventListener('click', async () => {
      try {
        await api(`/staff/news/${encodeURIComponent(a.id)}`, { method: 'DELETE', csrf: me.csrf_token });
        say(message, `Actualité « ${a.title} » supprimée.`);
      } catch (p) { say(message, p.detail || p.title, true); }
      await loadNews();
    });
    const status = { published: 'publiée', scheduled: 'programmée', expired: 'expirée' }[a.status];
    const files = (a.attachments || []).map((f) => {
      const off = el('button', { type: 'button', class: 'secondaire' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` ${f.file_name}`));
      off.addEventListener('click', async () => {
        try {
          await api(`/staff/news/${encodeURIComponent(a.id)}/attachments/${encodeURIComponent(f.id)}`, { method: 'DELETE', csrf: me.csrf_token });
          say(message, `« ${f.file_name} » retiré de « ${a.title} ».`);
        } catch (p) { say(message, p.title, true); }
        await loadNews();
      });
      return el('li', {}, f.file_name, ' ', off);
    });
    const input = el('input', { type: 'file', id: `joindre-${a.id}`, accept: '.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png' });
    const attach = el('button', { type: 'button', class: 'secondaire' }, 'Joindre', el('span', { class: 'visually-hidden' }, ` à « ${a.title} »`));
    attach.addEventListener('click', () => attachFile(a, input, attach));
    return el('li', {}, el('strong', {}, a.title), ` – ${NEWS_CATEGORIES[a.category]} – ${status}${a.pinned ? ' – épinglée' : ''} `, remove,
      files.length ? el('ul', {}, ...files) : null,
      el('div', {}, el('label', { for: `joindre-${a.id}` }, `Joindre un fichier à « ${a.title} » (PDF, JPEG, PNG)`), input, ' ', attach));
  }));
}

/** Attaches the chosen file to an article: straight to the storage, then confirmed. */
async function attachFile(article, input, button) {
  const file = input.files[0];
  if (!file) { say(message, 'Choisissez le fichier à joindre.', true); return; }
  button.disabled = true;
  try {
    const base = `/staff/news/${encodeURIComponent(article.id)}/attachments`;
    const started = await api(base, { method: 'POST', csrf: me.csrf_token, body: { file_name: file.name, content_type: fileType(file), size: file.size } });
    const sent = await fetch(started.upload.url, { method: 'PUT', headers: started.upload.headers, body: file });
    if (!sent.ok) throw { title: "Le fichier n'a pas pu être envoyé : réessayez." };
    await api(`${base}/${encodeURIComponent(started.id)}/confirm`, { method: 'POST', csrf: me.csrf_token });
    say(message, `« ${file.name} » est joint à « ${article.title} ».`);
    await loadNews();
  } catch (p) { say(message, p.title, true); } finally { button.disabled = false; }
}

async function publish(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await api('/staff/news', {
      method: 'POST', csrf: me.csrf_token,
      body: { title: data.get('title'), body: data.get('body'), category: data.get('category'), pinned: data.get('pinned') === 'on' },
    });
    say(message, `Actualité « ${data.get('title')} » publiée.`);
    form.reset();
    await loadNews();
  } catch (p) { say(message, p.detail ? `${p.title} ${p.detail}` : p.title, true); } finally { button.disabled = false; }
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
async function sendDecisions(decisions, accept, told) {
  let done = 0;
  try {
    for (let i = 0; i < decisions.length; i += 30) {
      await api('/staff/requests/decisions', { method: 'POST', csrf: me.csrf_token, body: { decisions: decisions.slice(i, i + 30) } });
      done += Math.min(30, decisions.length - i);
    }
    say(message, told ?? `${done} demande(s) ${accept ? 'acceptée(s)' : 'refusée(s)'}. Les familles sont prévenues par e-mail.`);
  } catch (p) {
    const why = p.decisions?.[0]?.error || p.title;
    say(message, done ? `${done} demande(s) décidée(s), puis : ${why}` : why, true);
  }
  await loadQueue();
}

async function loadQueue(event) {
  event?.preventDefault();
  const box = document.getElementById('file');
  let queue;
  try { queue = await api(`/staff/requests${queueQuery()}`); } catch (p) {
    say(message, problemText(p), true);
    return;
  }
  if (queue.length === 0) { box.replaceChildren(el('p', {}, 'Aucune demande en attente.')); return; }
  const picks = [];
  const rows = queue.map((r, i) => {
    const reason = el('input', { id: `raison-${i}`, name: 'reason', maxlength: '500' });
    const decide = (accept) => sendDecisions([{ child: r.child, unit: r.unit, date: r.date, accept, reason: reason.value || undefined }], accept,
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
    sendDecisions(chosen, accept);
  };
  const acceptAll = el('button', { type: 'button' }, 'Accepter la sélection');
  const refuseAll = el('button', { type: 'button', class: 'secondaire' }, 'Refuser la sélection');
  acceptAll.addEventListener('click', () => bulk(true));
  refuseAll.addEventListener('click', () => bulk(false));
  box.replaceChildren(el('table', { class: 'lignes' },
    el('caption', {}, `${queue.length} demande(s)`),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, all, el('label', { for: 'choix-tout', class: 'visually-hidden' }, 'Choisir toutes les demandes')),
      ...['Date', 'Enfant', 'Prestation', 'Demande', 'Raison du refus', 'Décision'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)),
  el('div', { class: 'choix' },
    el('div', {}, el('label', { for: 'raison-selection' }, 'Raison du refus de la sélection'), bulkReason),
    el('div', {}, acceptAll, ' ', refuseAll)));
}

async function loadDocuments() {
  const box = document.getElementById('file-documents');
  const docs = await api('/staff/documents');
  if (docs.length === 0) { box.replaceChildren(el('p', {}, 'Aucun document à examiner.')); return; }
  const rows = docs.map((d, i) => {
    const reason = el('input', { id: `motif-doc-${i}`, name: 'reason', maxlength: '500' });
    const path = `/staff/documents/${encodeURIComponent(d.family)}/${encodeURIComponent(d.id)}`;
    const decide = async (decision) => {
      // The answer once the list is read again (a reason typed next to another file must not
      // be typed into a list about to be replaced).
      let told;
      try {
        await api(`${path}/decision`, { method: 'POST', csrf: me.csrf_token, body: { decision, reason: reason.value || undefined, version: d.version } });
        told = [`${d.kind_name} de la ${d.family_name} : ${decision === 'accept' ? 'accepté' : 'refusé'}. La famille est prévenue par e-mail.`, false];
      } catch (p) { told = [p.title, true]; }
      await loadDocuments();
      say(message, ...told);
    };
    const open = el('button', { type: 'button', class: 'secondaire' }, 'Ouvrir', el('span', { class: 'visually-hidden' }, ` ${d.file_name}`));
    open.addEventListener('click', async () => {
      try {
        const link = await api(`/families/${encodeURIComponent(d.family)}/documents/${encodeURIComponent(d.id)}/download`);
        location.assign(link.url);
      } catch (p) { say(message, p.title, true); }
    });
    const ok = el('button', { type: 'button' }, 'Accepter', el('span', { class: 'visually-hidden' }, ` ${d.file_name}`));
    const no = el('button', { type: 'button', class: 'secondaire' }, 'Refuser', el('span', { class: 'visually-hidden' }, ` ${d.file_name}`));
    ok.addEventListener('click', () => decide('accept'));
    no.addEventListener('click', () => decide('refuse'));
    const absence = d.absence ? ` (absence du ${frenchDate(d.absence.from)} au ${frenchDate(d.absence.to)})` : '';
    return el('tr', {},
      el('td', { 'data-label': 'Famille' }, d.family_name),
      el('td', { 'data-label': 'Document' }, d.kind_name, d.child_name ? ` – ${d.child_name}` : '', absence),
      el('td', { 'data-label': 'Fichier' }, d.file_name, ' ', open),
      el('td', { 'data-label': 'Motif du refus' }, el('label', { for: `motif-doc-${i}`, class: 'visually-hidden' }, `Motif du refus de ${d.file_name}`), reason),
      el('td', {}, ok, ' ', no));
  });
  box.replaceChildren(el('table', { class: 'lignes' },
    el('caption', {}, `${docs.length} document(s)`),
    el('thead', {}, el('tr', {}, ...['Famille', 'Document', 'Fichier', 'Motif du refus', 'Décision'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)));
}

// Prints one section alone (the print style hides the rest while body[data-imprimer] is set).
function printButton(section, label) {
  const button = el('button', { type: 'button', class: 'secondaire' }, label);
  button.addEventListener('click', () => {
    document.body.dataset.imprimer = section;
    window.addEventListener('afterprint', () => delete document.body.dataset.imprimer, { once: true });
    window.print();
  });
  return button;
}

async function showAttendance(event) {
  event?.preventDefault();
  const date = document.getElementById('jour').value;
  const unit = document.getElementById('prestation').value;
  const box = document.getElementById('liste-pointage');
  const query = `date=${date}&unit=${encodeURIComponent(unit)}`;
  try {
    const list = await api(`/staff/attendance?${query}`);
    const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/attendance?${query}&format=csv`, download: '' }, 'Exporter la liste (tableur, CSV)');
    if (list.length === 0) { box.replaceChildren(el('p', {}, 'Aucun enfant inscrit ce jour-là.'), csv, walkIn(date, unit)); return; }
    const form = el('form', { novalidate: true });
    const rows = list.map((c) => el('tr', {},
      el('th', { scope: 'row' }, `${c.last_name} ${c.first_name}`),
      el('td', { 'data-label': 'Classe' }, c.class || ''),
      el('td', { 'data-label': 'Santé et régime' }, c.health_notes || '',
        c.absence_report ? el('strong', { class: 'absence-signalee' }, `${c.health_notes ? ' – ' : ''}Absence signalée par la famille le ${frenchInstantShort(c.absence_report.at)} : ${c.absence_report.reason}`) : '',
        c.justified ? el('strong', { class: 'absence-signalee' }, ` – Absence justifiée par certificat médical : non facturée, quel que soit le pointage${c.attendance === 'present' ? ' (pointé présent : à vérifier)' : ''}.`) : ''),
      el('td', {}, el('fieldset', { class: 'marques' }, el('legend', { class: 'visually-hidden' }, `Présence de ${c.first_name} ${c.last_name}`),
        ...ATTENDANCE_MARKS.map(([value, label]) => el('label', { class: 'en-ligne' },
          el('input', { type: 'radio', name: c.child, value, checked: c.attendance === value }), ` ${label}`))))));
    const save = el('button', { type: 'submit' }, 'Enregistrer le pointage');
    form.append(el('table', { class: 'lignes' },
      el('caption', {}, `${list.length} enfant(s) – ${frenchDate(date)} – ${units.find((u) => u.id === unit)?.name ?? unit}`),
      el('thead', {}, el('tr', {}, ...['Enfant', 'Classe', 'Santé et régime', 'Présence'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows)), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const marks = list.filter((c) => data.get(c.child)).map((c) => ({ child: c.child, mark: data.get(c.child) }));
      if (marks.length === 0) { say(message, 'Cochez la présence d\'au moins un enfant.', true); return; }
      save.disabled = true;
      try {
        await api('/staff/attendance', { method: 'POST', csrf: me.csrf_token, body: { date, unit, marks } });
        say(message, `Pointage enregistré (${marks.length} enfant(s)).`);
        await showAttendance();
      } catch (p) { say(message, p.marks?.[0]?.error || p.title, true); save.disabled = false; }
    });
    box.replaceChildren(form, el('p', {}, csv, ' ', printButton('pointage', 'Imprimer la liste')), walkIn(date, unit));
  } catch (p) { say(message, p.title, true); }
}

/** A child present without a booking, added in one step: the late booking (at the late price,
 * the family emailed) and the « present » mark. */
function walkIn(date, unit) {
  const form = el('form', { class: 'fiche', novalidate: true });
  const pickerBox = el('div', { class: 'choix' });
  const picker = childPicker(pickerBox, 'present');
  const add = el('button', { type: 'submit' }, 'Ajouter comme présent(e)');
  form.append(el('h3', {}, 'Un enfant présent sans réservation'), pickerBox, add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const who = picker.pick();
    if (!who) { say(message, "Choisissez l'enfant : tapez son nom, puis choisissez-le dans la liste.", true); picker.focus(); return; }
    add.disabled = true;
    try {
      await api(`/staff/families/${encodeURIComponent(who.family)}/bookings`, {
        method: 'POST', csrf: me.csrf_token, key: newKey(), body: { lines: [{ child: who.child, unit, date, action: 'add' }] },
      });
      await api('/staff/attendance', { method: 'POST', csrf: me.csrf_token, body: { date, unit, marks: [{ child: who.child, mark: 'present' }] } });
      await showAttendance();
      say(message, `${who.name} est ajouté(e) à la liste, présent(e). La réservation hors délai est facturée ; la famille est prévenue par e-mail.`);
    } catch (p) { say(message, p.lines?.[0]?.error?.message || p.marks?.[0]?.error || p.title, true); add.disabled = false; }
  });
  return form;
}

/** A child picked by name, searched as the agent types (first or last name, email, family
 * reference), drawn in `box`: `pick()` is `{ family, child, name }` (the child's name) or null,
 * `set(...)` preselects one (from a family's page), `focus()` moves to the search field. */
function childPicker(box, prefix) {
  const [searchLabel, search] = field('Enfant (nom ou prénom)', { type: 'search', autocomplete: 'off' });
  const select = el('select', { id: `${prefix}-enfant`, required: true });
  const status = el('p', { class: 'aide', role: 'status', 'aria-live': 'polite' }, 'Tapez au moins deux lettres.');
  let timer = null;
  let asked = 0;
  const fill = (children) => {
    select.replaceChildren(...children.map((c) => el('option', { value: `${c.family}|${c.child}`, 'data-nom': c.name }, `${c.name} – ${c.familyName}`)));
    status.textContent = children.length ? `${children.length} enfant(s) trouvé(s).` : 'Aucun enfant ne correspond.';
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    const q = search.value.trim();
    if (q.length < 2) { fill([]); status.textContent = 'Tapez au moins deux lettres.'; return; }
    timer = setTimeout(async () => {
      const n = ++asked;
      try {
        const hits = await api(`/staff/families?q=${encodeURIComponent(q)}`);
        if (n !== asked) return; // a newer search is on its way
        const words = q.toLowerCase().split(/\s+/);
        const children = hits.flatMap((f) => f.children.map((c) => ({ family: f.reference, familyName: f.name, child: c.id, name: `${c.first_name} ${c.last_name}` })));
        // The children whose own name matches (a family search also finds their siblings);
        // every child of the families found when the search was by email or reference.
        const fold = (t) => t.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
        const own = children.filter((c) => words.every((w) => fold(c.name).includes(fold(w))));
        fill(own.length ? own : children);
      } catch (p) { status.textContent = p.title; }
    }, 250);
  });
  box.replaceChildren(el('div', {}, searchLabel, search),
    el('div', {}, el('label', { for: select.id }, 'Enfant choisi'), select), status);
  return {
    pick() {
      const option = select.selectedOptions[0];
      if (!option) return null;
      const [family, child] = option.value.split('|');
      return { family, child, name: option.dataset.nom };
    },
    set(family, familyName, child, name) {
      search.value = name;
      fill([{ family, familyName, child, name }]);
    },
    focus() { search.focus(); },
  };
}

let latePicker = null;

async function lateChange(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const button = form.querySelector('button[type=submit]');
  const who = latePicker.pick();
  if (!who) { say(message, "Choisissez l'enfant : tapez son nom, puis choisissez-le dans la liste.", true); latePicker.focus(); return; }
  if (!data.get('date')) { say(message, 'Indiquez la date.', true); return; }
  const line = { child: who.child, unit: data.get('unit'), date: data.get('date'), action: data.get('action') };
  button.disabled = true;
  try {
    const answer = await api(`/staff/families/${encodeURIComponent(who.family)}/bookings`, {
      method: 'POST', csrf: me.csrf_token, key: newKey(), body: { lines: [line] },
    });
    const r = answer.lines[0];
    const what = r.action === 'add' ? 'Ajout enregistré' : 'Annulation enregistrée';
    const price = r.action === 'add'
      ? `${euros(r.price)}${r.late ? ' (tarif majoré, hors délai)' : ''}`
      : (r.late ? `facturée ${euros(r.price)} (hors délai)` : 'sans frais');
    say(message, `${what} pour ${who.name} : ${frenchDate(r.date)} – ${price}. La famille est prévenue par e-mail.`);
  } catch (p) {
    say(message, p.lines?.[0]?.error?.message || p.title, true);
  } finally { button.disabled = false; }
}

/** The week's counts per unit and day, and under each unit the meals without pork, the
 * vegetarian ones and the PAIs among them. */
async function showKitchen(event) {
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
      printButton('cuisine', 'Imprimer les effectifs'));
  } catch (p) { say(message, p.title, true); }
}

async function showBookings(family) {
  const box = document.getElementById('reservations-famille');
  try {
    const bookings = await api(`/families/${encodeURIComponent(family.reference)}/bookings`);
    const names = new Map(family.children.map((c) => [c.id, c.first_name]));
    const unitNames = new Map(units.map((u) => [u.id, u.name]));
    box.replaceChildren(el('h3', { id: 'titre-reservations-famille', tabindex: '-1' }, `Réservations de la ${family.name} (un mois avant, deux mois après)`),
      bookings.length === 0 ? el('p', {}, 'Aucune réservation sur cette période.') : el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-labelledby': 'titre-reservations-famille' }, el('table', { class: 'lignes' },
        el('caption', {}, `${bookings.length} réservation(s)`),
        el('thead', {}, el('tr', {}, ...['Date', 'Enfant', 'Prestation', 'Statut', 'Prix', 'Présence', 'Historique'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...bookings.map((b) => el('tr', {},
          el('td', { 'data-label': 'Date' }, frenchDate(b.date)),
          el('td', { 'data-label': 'Enfant' }, names.get(b.child) || b.child),
          el('td', { 'data-label': 'Prestation' }, unitNames.get(b.unit) || b.unit),
          el('td', { 'data-label': 'Statut' }, `${BOOKING_STATUSES_STAFF[b.status] || b.status}${b.late ? ' (hors délai)' : ''}`),
          el('td', { 'data-label': 'Prix', class: 'montant' }, euros(b.price)),
          el('td', { 'data-label': 'Présence' }, ATTENDANCE[b.attendance] || ''),
          el('td', { 'data-label': 'Historique' }, b.history.map((h) => `${BOOKING_STATUSES_STAFF[h.to] || h.to} par ${h.by}`).join(' ; '))))))));
    document.getElementById('titre-reservations-famille').focus();
  } catch (p) { say(message, p.title, true); }
}

async function searchFamilies(event) {
  event.preventDefault();
  const q = document.getElementById('q').value.trim();
  try {
    const hits = await api(`/staff/families?q=${encodeURIComponent(q)}`);
    const box = document.getElementById('resultats-familles');
    document.getElementById('reservations-famille').replaceChildren();
    document.getElementById('fiche-famille').replaceChildren();
    if (hits.length === 0) { box.replaceChildren(el('p', {}, 'Aucune famille ne correspond.')); return; }
    box.replaceChildren(el('ul', { class: 'liste' }, ...hits.map((f) => {
      const guardians = f.guardians.map((g) => {
        const resend = el('button', { type: 'button', class: 'secondaire' }, "Renvoyer le lien d'activation", el('span', { class: 'visually-hidden' }, ` à ${g.email}`));
        resend.addEventListener('click', async () => {
          try {
            await api('/auth/activation-link', { method: 'POST', body: { email: g.email } });
            say(message, `Si le compte de ${g.email} n'est pas encore activé, un nouveau lien d'activation lui est envoyé.`);
          } catch (p) { say(message, p.title, true); }
        });
        // Only a guardian who has not activated needs a new link.
        return el('li', {}, `${g.first_name} ${g.last_name} – ${g.email} `, g.activated ? '(compte activé)' : resend);
      });
      const bookings = el('button', { type: 'button' }, 'Voir les réservations', el('span', { class: 'visually-hidden' }, ` de la ${f.name}`));
      bookings.addEventListener('click', () => showBookings(f));
      const edit = el('button', { type: 'button', class: 'secondaire' }, 'Modifier la fiche', el('span', { class: 'visually-hidden' }, ` de la ${f.name}`));
      edit.addEventListener('click', () => showRecords(document.getElementById('fiche-famille'), f.reference, { me, message, config: townConfig }));
      // A late change for one of its children: the form, with the child already chosen.
      const late = f.children.map((c) => {
        const b = el('button', { type: 'button', class: 'secondaire petit' }, 'Modification hors délai', el('span', { class: 'visually-hidden' }, ` pour ${c.first_name} ${c.last_name}`));
        b.addEventListener('click', () => {
          latePicker.set(f.reference, f.name, c.id, `${c.first_name} ${c.last_name}`);
          location.hash = 'hors-delai';
          document.getElementById('date-modif').focus();
        });
        return el('li', {}, `${c.first_name} ${c.last_name} `, b);
      });
      return el('li', {}, el('strong', {}, `${f.name} (${f.reference})`),
        f.children.length ? el('ul', { 'aria-label': `Enfants de la ${f.name}` }, ...late) : el('p', {}, 'Enfants : aucun'),
        el('ul', { 'aria-label': `Responsables de la ${f.name}` }, ...guardians), bookings, ' ', edit);
    })));
  } catch (p) { say(message, p.title, true); }
}

let configVersion = null;
async function loadConfig() {
  const view = await api('/staff/config');
  configVersion = view.version;
  document.getElementById('config-json').value = JSON.stringify(view.config, null, 2);
  const impact = (closures) => api('/staff/closures/impact', { method: 'POST', csrf: me.csrf_token, body: { closures } });
  showForms(document.getElementById('formulaires-configuration'), view, { message, save: putConfig, impact });
}

// Saves a whole configuration with the version read; reloads the forms and the JSON after.
async function putConfig(config, done) {
  try {
    const saved = await api('/staff/config', { method: 'PUT', csrf: me.csrf_token, body: { version: configVersion, config } });
    configVersion = saved.version ?? configVersion;
    await loadConfig();
    const closed = saved.closed && saved.closed.cancelled
      ? ` ${saved.closed.cancelled} réservation(s) annulée(s) par la fermeture ; ${saved.closed.families} famille(s) prévenue(s) par e-mail.` : '';
    say(message, done + closed);
  } catch (p) { say(message, problemText(p), true); }
}

async function saveConfig(event) {
  event.preventDefault();
  let config;
  try { config = JSON.parse(document.getElementById('config-json').value); } catch {
    say(message, "La configuration n'est pas un JSON valide : vérifiez les guillemets et les virgules.", true);
    return;
  }
  await putConfig(config, 'Configuration enregistrée : elle vaut pour les réservations à venir.');
}

const shortInstant = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris' });
function frenchInstantShort(at) { return shortInstant.format(new Date(at)); }

const ACTIONS = {
  'news.create': 'Actualité publiée', 'news.update': 'Actualité modifiée', 'news.delete': 'Actualité supprimée',
  'news.attach': 'Pièce jointe ajoutée', 'news.detach': 'Pièce jointe retirée',
  'requests.decide': 'Demandes décidées', 'attendance.mark': 'Pointage', 'attendance.justify': 'Absences justifiées',
  'config.update': 'Configuration modifiée', 'family.update': 'Famille corrigée', 'child.update': 'Enfant corrigé',
  'documents.decide': 'Document examiné', 'documents.delete': 'Document supprimé', 'families.import': 'Import des familles',
  'staff.create': 'Compte du personnel créé', 'invoices.finalise': 'Factures émises', 'invoices.publish': 'Factures publiées', 'invoices.contest': 'Ligne de facture contestée', 'invoices.contest_accept': 'Contestation acceptée (avoir)', 'invoices.contest_refuse': 'Contestation refusée', 'invoices.credit_note': 'Avoir émis', 'invoices.cancel': 'Facture annulée', 'invoices.regularisation_credit': 'Régularisation émise en avoir', 'invoices.refund': 'Avoir remboursé', 'invoices.payment': 'Paiement enregistré', 'invoices.transmit': 'Facture transmise au Trésor public', 'invoices.payfip_anomaly': 'Paiement en ligne à vérifier', 'invoices.mandate': 'Mandat de prélèvement enregistré', 'invoices.mandate_end': 'Mandat de prélèvement terminé', 'invoices.debit_rejected': 'Prélèvement rejeté', 'bookings.staff_change': 'Réservations modifiées hors délai',
  'closure.cancel': 'Réservations annulées par une fermeture', 'closure.reopen': 'Réouverture annoncée aux familles',
  'waiting_list.promote': "Place attribuée depuis la liste d'attente", 'waiting_list.offer_lapsed': "Place proposée non confirmée à temps",
  'absence.report': 'Absence signalée par la famille', 'attendance.justify_reported': 'Absence signalée justifiée (certificat)',
  'attendance.unjustify': 'Justification retirée (certificat refusé)', 'family.close': 'Dossier de famille clos', 'family.erase': 'Données de famille effacées',
};

// The fields that differ between an entry's before and after, « champ : avant → après ».
function changes(e) {
  const object = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (!object(e.before) || !object(e.after)) return [];
  const show = (v) => { const t = v === undefined ? '—' : JSON.stringify(v); return t.length > 160 ? `${t.slice(0, 157)}…` : t; };
  return [...new Set([...Object.keys(e.before), ...Object.keys(e.after)])]
    .filter((k) => JSON.stringify(e.before[k]) !== JSON.stringify(e.after[k]))
    .map((k) => `${k} : ${show(e.before[k])} → ${show(e.after[k])}`);
}

const ANOMALIES = { pending_request: 'Demande en attente de décision', no_attendance: 'Présence non relevée' };

/** The dry run of a month's billing, with the button that finalises it once it is over. */
async function previewBilling(event) {
  event?.preventDefault();
  const month = document.getElementById('mois-facturation').value;
  const box = document.getElementById('apercu-facturation');
  const p = await api(`/staff/invoices/preview?month=${encodeURIComponent(month)}`);
  const label = p.label.charAt(0).toUpperCase() + p.label.slice(1);
  const rows = p.bills.map((b) => el('tr', {}, el('td', { 'data-label': 'Famille' }, b.family), el('td', { 'data-label': 'Lignes' }, String(b.lines.length)), el('td', { 'data-label': 'Montant' }, euros(b.total))));
  const parts = [
    el('p', { class: 'resume' }, `${label} : ${p.bills.length} facture(s), ${euros(p.total)} au total ; ${p.zero} famille(s) sans rien à payer.`),
    p.bills.length ? el('table', { class: 'lignes' }, el('caption', {}, `Aperçu de ${p.label}`),
      el('thead', {}, el('tr', {}, ...['Famille', 'Lignes', 'Montant'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows)) : null,
    p.anomalies.length ? el('ul', { 'aria-label': 'À vérifier' }, ...p.anomalies.map((a) => el('li', {}, `${ANOMALIES[a.kind]} : ${a.child}, ${a.unit}, ${frenchDate(a.date)}`))) : el('p', {}, 'Rien à vérifier.'),
  ];
  if (p.complete) {
    const go = el('button', { type: 'button' }, `Facturer ${p.label}`);
    const told = el('p', { role: 'status', 'aria-live': 'polite' });
    go.addEventListener('click', async () => {
      go.disabled = true;
      try {
        let done;
        do { done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/finalise`, { method: 'POST', csrf: me.csrf_token }); } while (done.remaining > 0);
        const waiting = done.anomalies.filter((a) => a.kind === 'pending_request').length;
        told.textContent = `${label} : ${done.invoices} facture(s) émise(s) en tout${done.numbers ? `, jusqu'au n° ${done.numbers[1]}` : ''}.`
          + (waiting ? ` ${waiting} demande(s) en attente ne sont pas facturées : acceptées plus tard, elles le seront sur la facture suivante (régularisation).` : '');
      } catch (problem) { told.textContent = problemText(problem); } finally { go.disabled = false; }
    });
    const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/invoices/runs/${encodeURIComponent(month)}/export`, download: '' }, `Exporter les factures de ${p.label} (CSV)`);
    parts.push(go, told, publishForm(month, p.label), el('p', {}, csv));
  } else {
    parts.push(el('p', { class: 'aide' }, 'Ce mois n\'est pas terminé : il pourra être facturé le lendemain de son dernier jour.'));
  }
  box.replaceChildren(...parts.filter(Boolean));
}

/** « Publier »: the month's invoices visible to families on a date, each guardian emailed. */
function publishForm(month, label) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
  const [dateLabel, date] = field('Visible par les familles le', { type: 'date', name: 'on', value: today, required: '' });
  const told = el('p', { role: 'status', 'aria-live': 'polite' });
  const form = el('form', { class: 'choix' }, dateLabel, date, el('button', { type: 'submit' }, `Publier ${label}`), told);
  onSubmit(form, async (data) => {
    try {
      let done;
      do {
        done = await api(`/staff/invoices/runs/${encodeURIComponent(month)}/publish`, { method: 'POST', csrf: me.csrf_token, body: { on: data.get('on') } });
      } while (done.remaining > 0);
      told.textContent = `Factures de ${label} publiées pour le ${frenchDate(done.publication.on)} : les familles reçoivent un e-mail ce jour-là.`;
      await loadRuns();
    } catch (problem) { told.textContent = problemText(problem); }
  });
  return form;
}

/** The billing runs: invoices, total, publication. */
async function loadRuns() {
  const runs = await api('/staff/invoices/runs');
  const rows = runs.map((r) => el('tr', {},
    el('td', { 'data-label': 'Mois' }, r.label),
    el('td', { 'data-label': 'Factures' }, String(r.invoices)),
    el('td', { 'data-label': 'Montant' }, euros(r.total)),
    el('td', { 'data-label': 'Publication' }, r.publication ? `le ${frenchDate(r.publication.on)}` : 'non publiée'),
    el('td', { 'data-label': 'Prélèvements' }, ...(townConfig?.billing?.direct_debit ? debitActions(r.month, r.label, me) : ['—']))));
  document.getElementById('liste-facturations').replaceChildren(runs.length
    ? el('table', { class: 'lignes' }, el('caption', {}, 'Facturations'),
      el('thead', {}, el('tr', {}, ...['Mois', 'Factures', 'Montant', 'Publication', 'Prélèvements'].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows))
    : el('p', {}, 'Aucun mois facturé.'));
}

/** The contests waiting for an answer, each with its answer form. */
async function loadContests() {
  const queue = await api('/staff/invoices/contests');
  const box = document.getElementById('liste-contestations');
  if (!queue.length) { box.replaceChildren(el('p', {}, 'Aucune contestation en attente.')); return; }
  box.replaceChildren(...queue.map((c) => {
    const [amountLabel, amount] = field('Montant de l\'avoir (€)', { name: 'amount', inputmode: 'decimal', value: (c.line_amount / 100).toFixed(2).replace('.', ',') });
    const [reasonLabel, reason] = field('Réponse à la famille', { name: 'reason', rows: 2, maxlength: 1000, required: '' });
    const told = el('p', { role: 'status', 'aria-live': 'polite' });
    const accept = el('button', { type: 'submit', value: 'oui' }, 'Accepter (avoir)');
    const refuse = el('button', { type: 'submit', value: 'non', class: 'secondaire' }, 'Refuser');
    const form = el('form', { class: 'contestation' },
      el('h3', {}, `${c.family_name} – facture n° ${c.invoice}`),
      el('p', {}, `Ligne : ${c.line_text} (${euros(c.line_amount)})`),
      el('blockquote', {}, c.message),
      amountLabel, amount, reasonLabel, reason, accept, refuse, told);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const yes = event.submitter === accept;
      const cents = Math.round(Number(amount.value.replace(/\s/g, '').replace(',', '.')) * 100);
      const body = { accept: yes, reason: reason.value, amount: yes ? cents : null };
      accept.disabled = true; refuse.disabled = true;
      try {
        const done = await api(`/staff/invoices/contests/${encodeURIComponent(c.family)}/${encodeURIComponent(c.id)}/decision`, { method: 'POST', csrf: me.csrf_token, body });
        told.textContent = done.status === 'accepted' ? `Avoir n° ${done.credit_note} émis ; la famille est prévenue.` : 'Refus envoyé à la famille.';
      } catch (problem) { told.textContent = problemText(problem); accept.disabled = false; refuse.disabled = false; }
    });
    return form;
  }));
}

let journalCursor = null;
async function loadJournal(more = false) {
  const box = document.getElementById('liste-journal');
  const query = more && journalCursor ? `&cursor=${encodeURIComponent(journalCursor)}` : '';
  const page = await api(`/staff/audit?limit=50${query}`);
  journalCursor = page.next;
  const rows = page.entries.map((e) => {
    const diff = changes(e);
    const what = diff.length ? el('ul', {}, ...diff.map((d) => el('li', {}, d)))
      : el('pre', {}, JSON.stringify(e.after ?? e.before ?? {}, null, 1).slice(0, 2000));
    return el('tr', {},
      el('td', { 'data-label': 'Quand' }, frenchInstant(e.at)),
      el('td', { 'data-label': 'Qui' }, e.by),
      el('td', { 'data-label': 'Action' }, ACTIONS[e.action] || e.action),
      el('td', { 'data-label': 'Objet' }, e.target),
      el('td', { 'data-label': 'Détail' }, el('details', {}, el('summary', {}, 'Voir', el('span', { class: 'visually-hidden' }, ` le détail : ${ACTIONS[e.action] || e.action}, ${e.target}`)), what)));
  });
  const body = box.querySelector('tbody');
  if (more && body) body.append(...rows);
  else {
    const refresh = el('button', { type: 'button', class: 'secondaire' }, 'Actualiser le journal');
    refresh.addEventListener('click', () => loadJournal().catch((p) => say(message, p.title, true)));
    box.replaceChildren(refresh, rows.length === 0 ? el('p', {}, 'Aucune action enregistrée.') : el('div', { class: 'defilement', tabindex: '0', role: 'region', 'aria-label': 'Journal des actions' }, el('table', { class: 'lignes' },
      el('thead', {}, el('tr', {}, ...['Quand', 'Qui', 'Action', 'Objet', 'Détail'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows))));
  }
  box.querySelector('.plus-ancien')?.remove();
  if (page.next) {
    const older = el('button', { type: 'button', class: 'secondaire plus-ancien' }, 'Entrées plus anciennes');
    older.addEventListener('click', () => loadJournal(true).catch((p) => say(message, p.title, true)));
    box.append(older);
  }
}

if (me) {
  if (me.role !== 'agent' && me.role !== 'town_admin') {
    say(message, "Cet espace est réservé au personnel de la mairie.", true);
  } else {
    const { config } = await api('/staff/config');
    townConfig = config;
    units = config.activities.flatMap((a) => a.units.map((u) => ({ id: u.id, name: `${u.name} (${a.name})` })));
    document.getElementById('prestation').replaceChildren(...units.map((u) => el('option', { value: u.id }, u.name)));
    document.getElementById('prestation-modif').replaceChildren(...units.map((u) => el('option', { value: u.id }, u.name)));
    document.getElementById('modification').addEventListener('submit', lateChange);
    latePicker = childPicker(document.getElementById('choix-enfant-modif'), 'modif');
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
    document.getElementById('jour').value = today;
    document.getElementById('semaine').value = today;
    document.getElementById('nouvelle-actualite').addEventListener('submit', publish);
    document.getElementById('choix-pointage').addEventListener('submit', showAttendance);
    document.getElementById('choix-cuisine').addEventListener('submit', showKitchen);
    document.getElementById('recherche-familles').addEventListener('submit', searchFamilies);
    document.getElementById('filtre-demandes').addEventListener('submit', loadQueue);
    document.getElementById('filtre-service').append(...config.activities.map((a) => el('option', { value: a.id }, a.name)));
    document.getElementById('filtre-site').append(...config.sites.map((x) => el('option', { value: x.id }, x.name)));
    if (me.role === 'town_admin') {
      document.getElementById('configuration').hidden = false;
      document.getElementById('journal').hidden = false;
      document.getElementById('facturation').hidden = false;
      const last = new Date(`${today.slice(0, 7)}-01T12:00:00Z`);
      last.setUTCMonth(last.getUTCMonth() - 1);
      document.getElementById('mois-facturation').value = last.toISOString().slice(0, 7);
      document.getElementById('choix-facturation').addEventListener('submit', (e) => previewBilling(e).catch((p) => say(message, problemText(p), true)));
    }
    // Today's work first (requests, documents, attendance): the page shows once it is in, so
    // that nothing moves while the agent reads; the other tabs fill in meanwhile, hidden.
    const others = Promise.all([loadNews(), loadContests(), loadRegularisations(me), loadUnpaid(me), me.role === 'town_admin' ? loadAdmin() : null]);
    await Promise.all([loadQueue(), loadDocuments(), showAttendance()]).catch((p) => say(message, p.title, true));
    document.getElementById('page').hidden = false;
    showTab();
    await others.catch((p) => say(message, p.title, true));
  }
}

/** The administrator's tabs: billing runs, journal, PayFiP anomalies, configuration; their
 * links appear once they are filled. */
async function loadAdmin() {
  await loadRuns();
  await loadJournal();
  await loadAnomalies();
  document.getElementById('form-configuration').addEventListener('submit', saveConfig);
  await loadConfig();
  document.querySelectorAll('nav [data-admin]').forEach((a) => { a.hidden = false; });
}
