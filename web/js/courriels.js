// E-mails and what became of them: the addresses that bounced (tab « Aujourd'hui »), and on a
// family's record each guardian's e-mails with their state, the « Adresse e-mail invalide »
// notice and « Renvoyer le lien d'activation » once the address is corrected.
import { api, say, el, frenchInstant } from './portail.js';

const when = frenchInstant;

/** « Adresses e-mail invalides »: one line per address that bounced, with its families;
 * `open(reference)` shows a family's record. */
export async function loadUndeliverable(open) {
  const box = document.getElementById('liste-adresses-invalides');
  const list = await api('/staff/mail/undeliverable');
  if (list.length === 0) { box.replaceChildren(el('p', {}, 'Aucune adresse e-mail invalide.')); return; }
  box.replaceChildren(
    el('p', { class: 'aide' }, "Corrigez l'adresse (import) ou vérifiez-la avec la famille, puis renvoyez le lien depuis sa fiche."),
    el('ul', { class: 'liste' }, ...list.map((a) => el('li', {}, `${a.notice} : ${a.email} `,
      ...a.families.map((f) => {
        const b = el('button', { type: 'button', class: 'secondaire' }, 'Ouvrir la fiche', el('span', { class: 'visually-hidden' }, ` de la famille ${f}`));
        b.addEventListener('click', () => open(f));
        return b;
      })))));
}

/** The record's « E-mails envoyés » block for the family `reference`. */
export async function emailsBlock(reference, ctx) {
  const box = el('section', { class: 'fiche', 'aria-label': 'E-mails envoyés' }, el('h4', {}, 'E-mails envoyés'));
  let guardians;
  try { guardians = await api(`/staff/families/${encodeURIComponent(reference)}/emails`); } catch (p) { box.append(el('p', {}, p.title)); return box; }
  for (const g of guardians) {
    box.append(el('h5', {}, `${g.first_name} ${g.last_name} – ${g.email}`));
    if (g.notice) box.append(el('p', { class: 'message erreur' }, g.notice));
    if (g.complained_at) box.append(el('p', { class: 'aide' }, 'A signalé un e-mail comme indésirable : ne reçoit plus que les e-mails nécessaires.'));
    if (g.activation_pending) {
      const resend = el('button', { type: 'button', class: 'secondaire' }, "Renvoyer le lien d'activation", el('span', { class: 'visually-hidden' }, ` à ${g.email}`));
      resend.addEventListener('click', async () => {
        try {
          await api(`/staff/families/${encodeURIComponent(reference)}/activation`, { method: 'POST', csrf: ctx.me.csrf_token, body: { email: g.email } });
          say(ctx.message, `Un nouveau lien d'activation part à ${g.email}.`);
        } catch (p) { say(ctx.message, p.title, true); }
      });
      box.append(resend);
    }
    if (g.emails.length === 0) { box.append(el('p', {}, 'Aucun e-mail envoyé.')); continue; }
    box.append(el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Date'), el('th', { scope: 'col' }, 'Objet'), el('th', { scope: 'col' }, 'État'))),
      el('tbody', {}, ...g.emails.map((m) => el('tr', {},
        el('td', { 'data-label': 'Date' }, when(m.created_at)),
        el('td', { 'data-label': 'Objet' }, m.subject),
        el('td', { 'data-label': 'État' }, m.state))))));
  }
  return box;
}

/** « Mon compte »: the e-mails sent to the signed-in guardian. */
export async function myEmails(box) {
  const mine = await api('/auth/emails');
  const items = mine.emails.map((m) => el('li', {}, `${when(m.created_at)} – ${m.subject} (${m.state})`));
  box.replaceChildren(el('h3', {}, 'E-mails reçus'),
    ...(mine.undeliverable ? [el('p', { class: 'message erreur' }, "Nos derniers e-mails n'ont pas pu vous être remis : vérifiez votre adresse auprès du service famille.")] : []),
    items.length ? el('ul', { class: 'liste' }, ...items) : el('p', {}, 'Aucun e-mail envoyé.'));
}
