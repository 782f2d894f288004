// « Documents à examiner » (tab « Aujourd'hui »): the files families sent, opened, accepted or
// refused with a reason.
import { api, say, el, frenchDate } from '../portail.js';
import { count } from './commun.js';

/** The documents to review, each with Ouvrir, Accepter / Refuser and a reason. */
export async function loadDocuments(ctx) {
  const { me, message } = ctx;
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
      await loadDocuments(ctx);
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
    el('caption', {}, count(docs.length, 'document', 'documents')),
    el('thead', {}, el('tr', {}, ...['Famille', 'Document', 'Fichier', 'Motif du refus', 'Décision'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)));
}
