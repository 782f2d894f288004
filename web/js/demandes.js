// « Mes demandes »: send a document straight to the town's storage (with its progress), follow
// what the service decided, download or withdraw it.
import { api, say, linkTown, session, el, frenchDate, frenchInstant, fileType } from './portail.js';
import { plural, fr } from './typo.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);
const STATUS = { pending: 'Demande en cours', accepted: 'Acceptée', refused: 'Refusée', expired: 'Expirée' };
const state = { settings: null, children: [] };
const form = document.getElementById('envoi');

// A guardian of several families chooses one (the list and the form are that family's).
const family = () => document.getElementById('famille').value || me.families[0];
const kind = () => state.settings.kinds.find((k) => k.id === document.getElementById('type').value);

function showKind() {
  const k = kind();
  document.getElementById('bloc-enfant').hidden = !k || k.concerns !== 'child';
  document.getElementById('bloc-absence').hidden = !k || !k.justifies_absence;
}

/** The answer to the form, next to its button (a phone shows a small part of the page). */
function sayNear(text, error = false) {
  const near = document.getElementById('message-envoi');
  say(near, text, error);
  near.scrollIntoView({ block: 'nearest' });
}

/** Another family: the answers about the last one no longer apply. */
function clearAnswers() {
  for (const id of ['message', 'message-envoi']) document.getElementById(id).hidden = true;
}

/** From « Mon enfant est malade » (`?certificat=1&enfant=…&du=…&au=…`): a medical certificate
 * for the child and the days reported, filled in; the file is left to choose. */
function prefill() {
  const q = new URLSearchParams(location.search);
  if (!q.get('certificat')) return;
  const k = state.settings.kinds.find((x) => x.justifies_absence);
  if (!k) return;
  document.getElementById('type').value = k.id;
  if (state.children.some((c) => c.id === q.get('enfant'))) document.getElementById('enfant').value = q.get('enfant');
  document.getElementById('absence-du').value = q.get('du') || '';
  document.getElementById('absence-au').value = q.get('au') || q.get('du') || '';
}

/** Sends the file with the presigned request, reporting progress (fetch cannot). */
function upload(request, file, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(Math.round((100 * e.loaded) / e.total)); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`${xhr.status}`)));
    xhr.onerror = () => reject(new Error('réseau'));
    xhr.send(file);
  });
}

async function send(event) {
  event.preventDefault();
  const button = form.querySelector('button[type=submit]');
  const file = document.getElementById('fichier').files[0];
  if (!file) { sayNear('Choisissez le fichier à envoyer.', true); return; }
  const k = kind();
  const body = { kind: k.id, file_name: file.name, content_type: fileType(file), size: file.size };
  if (k.concerns === 'child') body.child = document.getElementById('enfant').value;
  if (k.justifies_absence) body.absence = { from: document.getElementById('absence-du').value, to: document.getElementById('absence-au').value };
  const box = document.getElementById('bloc-progression');
  const bar = document.getElementById('progression');
  const percent = document.getElementById('pourcentage');
  const progress = (n) => { bar.value = n; percent.textContent = `${n} %`; };
  button.disabled = true;
  try {
    const started = await api(`/families/${encodeURIComponent(family())}/documents`, { method: 'POST', csrf: me.csrf_token, body });
    box.hidden = false;
    progress(0);
    try {
      await upload(started.upload, file, progress);
    } catch {
      throw { title: "Le fichier n’a pas pu être envoyé : vérifiez votre connexion et réessayez." };
    }
    const doc = await api(`/families/${encodeURIComponent(family())}/documents/${encodeURIComponent(started.document.id)}/confirm`, { method: 'POST', csrf: me.csrf_token });
    sayNear(`« ${doc.file_name} » est envoyé : le service enfance va l’examiner.`);
    form.reset();
    showKind();
    await load();
  } catch (problem) {
    sayNear(problem.title, true);
  } finally {
    button.disabled = false;
    box.hidden = true;
  }
}

async function download(doc) {
  try {
    const link = await api(`/families/${encodeURIComponent(family())}/documents/${encodeURIComponent(doc.id)}/download`);
    location.assign(link.url);
  } catch (problem) { say(message, problem.title, true); }
}

async function withdraw(doc) {
  if (!confirm(`Retirer « ${doc.file_name} » ?`)) return;
  try {
    await api(`/families/${encodeURIComponent(family())}/documents/${encodeURIComponent(doc.id)}`, { method: 'DELETE', csrf: me.csrf_token });
    say(message, `« ${doc.file_name} » est retiré.`);
    await load();
  } catch (problem) { say(message, problem.title, true); }
}

async function load() {
  const docs = await api(`/families/${encodeURIComponent(family())}/documents`);
  const box = document.getElementById('liste');
  if (docs.length === 0) { box.replaceChildren(el('p', {}, "Vous n’avez envoyé aucun document.")); return; }
  box.replaceChildren(el('table', { class: 'lignes' },
    el('caption', {}, plural(docs.length, 'document')),
    el('thead', {}, el('tr', {}, ...['Document', 'Fichier', 'Envoyé le', 'Statut', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...docs.map((d) => {
      const get = el('button', { type: 'button', class: 'secondaire' }, 'Télécharger', el('span', { class: 'visually-hidden' }, ` ${d.file_name}`));
      get.addEventListener('click', () => download(d));
      const actions = [get];
      if (d.status === 'pending') {
        const off = el('button', { type: 'button', class: 'secondaire' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` ${d.file_name}`));
        off.addEventListener('click', () => withdraw(d));
        actions.push(' ', off);
      }
      const status = [STATUS[d.status] || d.status];
      if (d.status === 'refused' && d.reason) status.push(` : ${d.reason}`);
      if (d.status === 'accepted' && d.valid_until) status.push(` (valable jusqu’au ${frenchDate(d.valid_until)})`);
      return el('tr', { class: `statut-${d.status}` },
        el('td', { 'data-label': 'Document' }, fr(d.kind_name), d.child_name ? ` – ${d.child_name}` : ''),
        el('td', { 'data-label': 'Fichier' }, d.file_name),
        el('td', { 'data-label': 'Envoyé le' }, d.sent_at ? frenchInstant(d.sent_at) : ''),
        el('td', { 'data-label': 'Statut' }, fr(status.join(''))),
        el('td', {}, ...actions));
    }))));
}

if (me) {
  if (!me.families || me.families.length === 0) {
    say(message, 'Cette page est réservée aux familles.', true);
  } else {
    try {
      const [settings, children] = await Promise.all([api('/documents/settings'), api('/calendar/children')]);
      state.settings = settings;
      const showFamily = () => {
        state.children = children.filter((c) => c.family === family());
        document.getElementById('enfant').replaceChildren(...state.children.map((c) => el('option', { value: c.id }, c.first_name)));
      };
      if (me.families.length > 1) {
        const names = (f) => children.filter((c) => c.family === f).map((c) => c.first_name).join(', ');
        const select = document.getElementById('famille');
        select.replaceChildren(...me.families.map((f) => el('option', { value: f }, names(f) ? `${f} (${names(f)})` : f)));
        select.addEventListener('change', async () => { clearAnswers(); showFamily(); await load().catch((p) => say(message, p.title, true)); });
        document.getElementById('bloc-famille').hidden = false;
      }
      showFamily();
      document.getElementById('taille-max').textContent = `${Math.floor(settings.max_bytes / (1024 * 1024))} Mo`;
      document.getElementById('type').replaceChildren(...settings.kinds.map((k) => el('option', { value: k.id }, fr(k.name))));
      document.getElementById('type').addEventListener('change', showKind);
      form.addEventListener('submit', send);
      prefill();
      showKind();
      document.getElementById('page').hidden = false;
      await load();
    } catch (problem) { say(message, problem.title, true); }
  }
}
