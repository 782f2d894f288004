// « Actualités »: the town's news, published, deleted, and their files attached and removed.
import { api, say, el, fileType } from '../portail.js';
import { NEWS_CATEGORIES } from '../libelles.js';

/** Wires « Publier ». */
export function startNews(ctx) {
  document.getElementById('nouvelle-actualite').addEventListener('submit', (event) => publish(ctx, event));
}

/** The news, newest first, each with « Supprimer », its files and « Joindre ». */
export async function loadNews(ctx) {
  const { me, message } = ctx;
  const page = await api('/staff/news?per_page=50');
  document.getElementById('liste-actualites').replaceChildren(...page.items.map((a) => {
    const remove = el('button', { type: 'button', class: 'secondaire' }, 'Supprimer', el('span', { class: 'visually-hidden' }, ` « ${a.title} »`));
    remove.addEventListener('click', async () => {
      try {
        await api(`/staff/news/${encodeURIComponent(a.id)}`, { method: 'DELETE', csrf: me.csrf_token });
        say(message, `Actualité « ${a.title} » supprimée.`);
      } catch (p) { say(message, p.detail || p.title, true); }
      await loadNews(ctx);
    });
    const status = { published: 'publiée', scheduled: 'programmée', expired: 'expirée' }[a.status];
    const files = (a.attachments || []).map((f) => {
      const off = el('button', { type: 'button', class: 'secondaire' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` ${f.file_name}`));
      off.addEventListener('click', async () => {
        try {
          await api(`/staff/news/${encodeURIComponent(a.id)}/attachments/${encodeURIComponent(f.id)}`, { method: 'DELETE', csrf: me.csrf_token });
          say(message, `« ${f.file_name} » retiré de « ${a.title} ».`);
        } catch (p) { say(message, p.title, true); }
        await loadNews(ctx);
      });
      return el('li', {}, f.file_name, ' ', off);
    });
    const input = el('input', { type: 'file', id: `joindre-${a.id}`, accept: '.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png' });
    const attach = el('button', { type: 'button', class: 'secondaire' }, 'Joindre', el('span', { class: 'visually-hidden' }, ` à « ${a.title} »`));
    attach.addEventListener('click', () => attachFile(ctx, a, input, attach));
    return el('li', {}, el('strong', {}, a.title), ` – ${NEWS_CATEGORIES[a.category]} – ${status}${a.pinned ? ' – épinglée' : ''} `, remove,
      files.length ? el('ul', {}, ...files) : null,
      el('div', {}, el('label', { for: `joindre-${a.id}` }, `Joindre un fichier à « ${a.title} » (PDF, JPEG, PNG)`), input, ' ', attach));
  }));
}

/** Attaches the chosen file to an article: straight to the storage, then confirmed. */
async function attachFile(ctx, article, input, button) {
  const { me, message } = ctx;
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
    await loadNews(ctx);
  } catch (p) { say(message, p.title, true); } finally { button.disabled = false; }
}

async function publish(ctx, event) {
  const { me, message } = ctx;
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
    await loadNews(ctx);
  } catch (p) { say(message, p.detail ? `${p.title} ${p.detail}` : p.title, true); } finally { button.disabled = false; }
}
