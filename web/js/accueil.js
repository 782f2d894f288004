// index.html: the page's own script (no inline script: the pages run under a strict CSP).
import { api, linkTown, town, el, say, maybeLoggedIn, forgetSession } from './portail.js';
import { NEWS_CATEGORIES } from './libelles.js';
import { fr, frTree } from './typo.js';
import { myEmails } from './courriels.js';
import { qfPanel } from './quotient.js';
linkTown();
if (new URLSearchParams(location.search).get('compte') === 'active') {
  say(document.getElementById('message'), 'Votre compte est activé : vous êtes connecté(e). Bienvenue !');
}
const published = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' });
api('/news?per_page=10').then((page) => {
  const box = document.getElementById('actualites');
  if (page.items.length === 0) { box.replaceChildren(el('p', {}, "Pas d’actualité pour le moment.")); return; }
  box.replaceChildren(...page.items.map((a) => {
    const body = el('div', { class: 'texte' });
    body.innerHTML = a.html; // rendered by the server from Markdown, without raw HTML or unsafe links
    frTree(body);
    const files = (a.attachments || []).map((f) => {
      const get = el('button', { type: 'button', class: 'secondaire' }, `Télécharger ${f.file_name} (${Math.max(1, Math.round(f.size / 1024))} Ko)`);
      get.addEventListener('click', async () => {
        try {
          const link = await api(`/news/${encodeURIComponent(a.id)}/attachments/${encodeURIComponent(f.id)}`);
          location.assign(link.url);
        } catch (p) {
          get.after(el('span', { class: 'erreur', role: 'status' }, p.status === 401 ? ' Connectez-vous pour télécharger les pièces jointes.' : ` ${p.title}`));
        }
      });
      return el('li', {}, get);
    });
    return el('article', { class: `actualite ${a.category}${a.pinned ? ' epinglee' : ''}` },
      el('h3', {}, fr(a.title)),
      el('p', { class: 'aide' }, `${NEWS_CATEGORIES[a.category]}${a.pinned ? ' – à la une' : ''} – publié le ${published.format(new Date(a.publish_at))}`),
      body,
      files.length ? el('ul', { class: 'pieces-jointes', 'aria-label': 'Pièces jointes' }, ...files) : null);
  }));
}).catch(() => { document.getElementById('actualites').replaceChildren(el('p', {}, 'Les actualités ne sont pas disponibles pour le moment.')); });
fetch(`/api/towns/${encodeURIComponent(town)}`)
  .then((r) => (r.ok ? r.json() : Promise.reject(r)))
  .then((cfg) => {
    document.getElementById('commune').textContent = `Espace Famille – ${cfg.name}`;
    const list = document.getElementById('activities');
    for (const a of cfg.activities) {
      const li = document.createElement('li');
      li.textContent = fr(`${a.name} : ${a.units.map((u) => u.name).join(', ')}`);
      list.appendChild(li);
    }
    // Whom to call or write to: the childhood service's régie (the town's billing settings),
    // and a service's own office where it has one (the leisure centre).
    const address = (c, name) => el('address', {}, ...[name, ...(c.address || []), c.phone && `Téléphone : ${c.phone}`,
      c.email && el('a', { href: `mailto:${c.email}` }, c.email), c.hours].filter(Boolean).flatMap((l, i) => (i ? [el('br'), l] : [l])));
    const b = cfg.billing;
    const blocks = [];
    if (b) blocks.push(address(b, b.regie));
    for (const a of cfg.activities.filter((x) => x.contact)) blocks.push(el('h3', {}, a.name), address(a.contact, a.contact.name));
    if (blocks.length) {
      document.getElementById('coordonnees').replaceChildren(...blocks);
      document.getElementById('contact-service').hidden = false;
    }
  })
  .catch(() => { document.getElementById('commune').textContent = 'Commune introuvable'; });
// Only when a session may be open: a 401 at each visit would be an error in the console.
(maybeLoggedIn() ? api('/auth/session') : Promise.reject(new Error('no session'))).then((me) => {
  const compte = document.getElementById('compte');
  compte.textContent = `Connecté(e) : ${me.first_name} ${me.last_name} (${me.email})`;
  if (me.role === 'agent' || me.role === 'town_admin') {
    compte.append(' – ', el('a', { href: `mairie.html?commune=${encodeURIComponent(town)}` }, 'Espace mairie'));
  }
  if (me.role === 'guardian') myAccount(me);
  if (me.role === 'guardian') enrolments(me);
  const out = document.getElementById('deconnexion');
  out.hidden = false;
  out.addEventListener('click', async () => {
    await api('/auth/logout', { method: 'POST', csrf: me.csrf_token }).catch(() => {});
    location.reload();
  });
}).catch((e) => { if (e?.status === 401) forgetSession(); });

// « Mon compte et mes données »: the holiday reminders on or off, the family's data to take away.
function myAccount(me) {
  const box = document.getElementById('mon-compte');
  const out = document.getElementById('message-compte');
  const reminders = document.getElementById('rappels');
  reminders.checked = me.holiday_reminders !== false;
  reminders.addEventListener('change', async () => {
    try {
      const saved = await api('/auth/preferences', { method: 'PUT', csrf: me.csrf_token, body: { holiday_reminders: reminders.checked } });
      say(out, saved.holiday_reminders ? 'Vous recevrez les rappels de réservation des vacances.' : 'Vous ne recevrez plus les rappels de réservation des vacances.');
    } catch (p) { reminders.checked = !reminders.checked; say(out, p.title, true); }
  });
  const buttons = me.families.flatMap((f) => {
    const suffix = me.families.length > 1 ? ` (famille ${f})` : '';
    const json = el('button', { type: 'button', class: 'secondaire' }, `Télécharger mes données (JSON)${suffix}`);
    json.addEventListener('click', async () => {
      try {
        const data = await api(`/families/${encodeURIComponent(f)}/export`);
        const link = el('a', { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' })), download: `espace-famille-${f}.json` });
        document.body.append(link); link.click(); link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
        say(out, 'Vos données sont téléchargées (fichier JSON).');
      } catch (p) { say(out, p.title, true); }
    });
    const zip = el('button', { type: 'button', class: 'secondaire' }, `Télécharger mes données et mes documents (archive ZIP, tableur)${suffix}`);
    zip.addEventListener('click', async () => {
      zip.disabled = true;
      try {
        const link = await api(`/families/${encodeURIComponent(f)}/export/archive`, { method: 'POST', csrf: me.csrf_token });
        say(out, "L’archive est prête : le téléchargement commence.");
        location.assign(link.url);
      } catch (p) { say(out, p.title, true); } finally { zip.disabled = false; }
    });
    return [json, ' ', zip];
  });
  document.getElementById('exports').replaceChildren(...buttons);
  myEmails(document.getElementById('mes-emails')).catch((p) => say(out, p.title, true));
  const qf = document.getElementById('qf-caf');
  qf.replaceChildren(...me.families.map(() => el('div')));
  me.families.forEach((f, i) => qfPanel(qf.children[i], f, me, out).catch((p) => say(out, p.title, true)));
  box.hidden = false;
}

// « Inscriptions 2027-2028 : à compléter »: each campaign open to the family, linked to its steps.
async function enrolments(me) {
  const open = (await Promise.all(me.families.map((f) => api(`/families/${encodeURIComponent(f)}/enrolments`).catch(() => [])))).flat();
  if (!open.length) return;
  const box = document.getElementById('inscriptions');
  box.replaceChildren(...open.map((c) => el('a', { href: `inscriptions.html?commune=${encodeURIComponent(town)}&annee=${encodeURIComponent(c.year)}` }, c.label)));
  box.hidden = false;
}
