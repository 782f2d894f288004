// Shared helpers of the portal's pages: the town, API calls, messages.
'use strict';

const params = new URLSearchParams(location.search);
/** The town of the page (`?commune=`), the demo town by default. */
export const town = params.get('commune') || 'villeneuve-les-tilleuls';
/** The secret of an emailed link, carried in the fragment (`#jeton=`), never sent to a server. */
export const token = new URLSearchParams(location.hash.slice(1)).get('jeton');

/** Calls the town's API; resolves with the JSON body, rejects with the problem (French title). */
export async function api(path, { method = 'GET', body, csrf } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(`/api/towns/${encodeURIComponent(town)}${path}`, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    throw data && data.title ? data : { title: 'Le service ne répond pas. Réessayez dans quelques instants.', status: res.status };
  }
  return data;
}

/** Shows a message in an `aria-live` region; `error` styles it as an error. */
export function say(region, text, error = false) {
  region.hidden = false;
  region.textContent = text;
  region.classList.toggle('erreur', error);
}

/** Runs `action` on submit, with the button disabled meanwhile (no double submission). */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try { await action(new FormData(form)); } finally { button.disabled = false; }
  });
}

/** Keeps the town in the links of the page. */
export function linkTown() {
  for (const a of document.querySelectorAll('a[data-page]')) {
    a.href = `${a.dataset.page}?commune=${encodeURIComponent(town)}`;
  }
}
