// « Fiches enfants »: the children's files a guardian changed, each reviewed by what changed
// since the service last validated it, then validated or sent back with a reason (emailed);
// the « fiche sanitaire de liaison » as a PDF. The API keeps health data to the roles the town
// names, and audits each read.
import { api, say, el, town } from '../portail.js';
import { count } from './commun.js';

const PARTS = { health: 'Santé', people: 'Personnes', consents: 'Autorisations', insurance: 'Assurance' };
const show = (v) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** The review of one child's file: its changes, Valider, Demander une correction. */
async function review(ctx, child, box) {
  const { me, message } = ctx;
  let r;
  try { r = await api(`/staff/children/${encodeURIComponent(child)}/file/review`); } catch (p) { say(message, p.title, true); return; }
  const name = `${r.first_name} ${r.last_name}`;
  const since = r.validated_version ? `depuis la version ${r.validated_version} validée` : 'première fiche';
  const changes = r.changes.map((c) => el('li', {}, `${PARTS[c.field.split(/[.[]/)[0]] || c.part} – ${c.field} : ${show(c.before)} → ${show(c.after)}`));
  const reason = el('textarea', { id: `motif-fiche-${child}`, rows: 2, maxlength: '1000' });
  const decide = async (path, body, done) => {
    try {
      await api(`/staff/children/${encodeURIComponent(child)}/file/${path}`, { method: 'POST', csrf: me.csrf_token, body });
      await loadFiles(ctx);
      say(message, done);
    } catch (p) { say(message, p.title, true); }
  };
  const ok = el('button', { type: 'button' }, `Valider la version ${r.version}`);
  ok.addEventListener('click', () => decide('validate', { version: r.version }, `Fiche de ${name} validée.`));
  const back = el('button', { type: 'button', class: 'secondaire' }, 'Demander une correction');
  back.addEventListener('click', () => decide('correction', { version: r.version, reason: reason.value }, `Correction demandée pour ${name} : la famille est prévenue par e-mail.`));
  const sheet = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/children/${encodeURIComponent(child)}/file/sheet` }, `Fiche sanitaire de ${name} (PDF)`);
  box.replaceChildren(el('h3', {}, `${name} – ${count(r.changes.length, 'modification', 'modifications')} ${since}`),
    el('ul', {}, ...changes), sheet,
    el('label', { for: `motif-fiche-${child}` }, 'Motif de la correction'), reason,
    el('p', {}, ok, ' ', back));
}

/** The files to check, oldest change first, each with « Examiner ». */
export async function loadFiles(ctx) {
  const list = document.getElementById('liste-fiches');
  const detail = document.getElementById('examen-fiche');
  detail.replaceChildren();
  const files = await api('/staff/child-files');
  if (files.length === 0) { list.replaceChildren(el('p', {}, 'Aucune fiche à vérifier.')); return; }
  list.replaceChildren(el('ul', {}, ...files.map((f) => {
    const open = el('button', { type: 'button', class: 'secondaire' }, 'Examiner', el('span', { class: 'visually-hidden' }, ` la fiche de ${f.first_name} ${f.last_name}`));
    open.addEventListener('click', () => review(ctx, f.child, detail));
    return el('li', {}, `${f.first_name} ${f.last_name} – version ${f.version} `, open);
  })));
}
