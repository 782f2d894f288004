// « Demandes de compte » (tab « Aujourd'hui »): new families' requests for an account, each
// accepted (the family is created and its guardians get the activation email) or refused with
// a reason (emailed).
import { api, say, el, frenchDate } from '../portail.js';

const NNBSP = '\u202f';

function describe(r) {
  const guardians = r.guardians.map((g) => `${g.first_name} ${g.last_name} (${g.email}, ${g.phone})`).join(`${NNBSP}; `);
  const children = r.children.map((c) => `${c.first_name} ${c.last_name}, né(e) le ${frenchDate(c.birth_date)}${c.level ? `, ${c.level}` : ''}`).join(`${NNBSP}; `);
  return { guardians, children, address: r.address.join(', ') };
}

/** The pending requests, each with Accepter / Refuser and a reason. */
export async function loadAccountRequests(ctx) {
  const { me, message } = ctx;
  const box = document.getElementById('liste-demandes-compte');
  const requests = await api('/staff/account-requests');
  if (requests.length === 0) { box.replaceChildren(el('p', {}, 'Aucune demande de compte en attente.')); return; }
  const rows = requests.map((r, i) => {
    const d = describe(r);
    const name = `${r.guardians[0].first_name} ${r.guardians[0].last_name}`;
    const reason = el('input', { id: `motif-compte-${i}`, maxlength: '1000' });
    const decide = async (action) => {
      let told;
      try {
        await api(`/staff/account-requests/${encodeURIComponent(r.id)}/${action}`, { method: 'POST', csrf: me.csrf_token, body: action === 'refuse' ? { reason: reason.value } : {} });
        told = [action === 'accept'
          ? `Demande de ${name}${NNBSP}: acceptée. La famille est créée et reçoit le lien d’activation par e-mail.`
          : `Demande de ${name}${NNBSP}: refusée. Le motif lui est envoyé par e-mail.`, false];
      } catch (p) {
        if (p.field === 'reason') { reason.setAttribute('aria-invalid', 'true'); reason.focus(); say(message, p.title, true); return; }
        told = [p.title, true];
      }
      await loadAccountRequests(ctx);
      say(message, ...told);
    };
    const ok = el('button', { type: 'button' }, 'Accepter', el('span', { class: 'visually-hidden' }, ` la demande de ${name}`));
    const no = el('button', { type: 'button', class: 'secondaire' }, 'Refuser', el('span', { class: 'visually-hidden' }, ` la demande de ${name}`));
    // The proof of address, opened from a short-lived link (deleted once the request is decided).
    let proof;
    if (r.proof?.received_at) {
      proof = el('button', { type: 'button', class: 'secondaire' }, 'Voir le justificatif de domicile', el('span', { class: 'visually-hidden' }, ` de ${name}`));
      proof.addEventListener('click', async () => {
        try {
          const link = await api(`/staff/account-requests/${encodeURIComponent(r.id)}/proof`);
          location.assign(link.url);
        } catch (p) { say(message, p.title, true); }
      });
    } else {
      proof = el('p', { class: 'aide' }, `Justificatif de domicile${NNBSP}: non reçu`);
    }
    ok.addEventListener('click', () => decide('accept'));
    no.addEventListener('click', () => decide('refuse'));
    return el('tr', {},
      el('td', { 'data-label': 'Reçue le' }, frenchDate(r.created_at.slice(0, 10))),
      el('td', { 'data-label': 'Responsables' }, d.guardians),
      el('td', { 'data-label': 'Enfants' }, d.children),
      el('td', { 'data-label': 'Adresse' }, d.address, el('div', {}, proof), r.message ? el('p', { class: 'aide' }, `Message${NNBSP}: ${r.message}`) : null),
      el('td', { 'data-label': 'Motif du refus' }, el('label', { for: `motif-compte-${i}`, class: 'visually-hidden' }, `Motif du refus de la demande de ${name}`), reason),
      el('td', {}, ok, ' ', no));
  });
  box.replaceChildren(el('table', { class: 'lignes' },
    el('caption', {}, requests.length === 1 ? '1 demande' : `${requests.length} demandes`),
    el('thead', {}, el('tr', {}, ...['Reçue le', 'Responsables', 'Enfants', 'Adresse', 'Motif du refus', 'Décision'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)));
}
