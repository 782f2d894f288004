// Shared helpers of the portal's pages: the town, API calls, messages.
'use strict';

const params = new URLSearchParams(location.search);
/** The town of the page (`?commune=`), the demo town by default. */
export const town = params.get('commune') || 'villeneuve-les-tilleuls';
/** The secret of an emailed link, carried in the fragment (`#jeton=`), never sent to a server. */
export const token = new URLSearchParams(location.hash.slice(1)).get('jeton');

/** Calls the town's API; resolves with the JSON body, rejects with the problem (French title). */
export async function api(path, { method = 'GET', body, csrf, key } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf) headers['x-csrf-token'] = csrf;
  if (key) headers['idempotency-key'] = key;
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

/** Says `text` in `region` and brings it on screen with the focus on it: the answer to a form
 * whose message region is away from its button (a phone shows a small part of the page). */
export function sayInView(region, text, error = false) {
  say(region, text, error);
  if (!region.hasAttribute('tabindex')) region.setAttribute('tabindex', '-1');
  region.scrollIntoView({ block: 'nearest' });
  region.focus({ preventScroll: true });
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

const euroFormat = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' });
/** `250` → « 2,50 € ». */
export const euros = (cents) => euroFormat.format(cents / 100);

const dayFormat = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' });
/** `2026-12-07` → « lundi 07/12/2026 ». */
export const frenchDate = (iso) => dayFormat.format(new Date(`${iso}T00:00:00Z`));

const instantFormat = new Intl.DateTimeFormat('fr-FR', { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/Paris' });
/** An instant, as the town reads it, the time written the French way: « 03/12/2026 à 23 h 59 »,
 * « 07/12/2026 à 8 h 30 », « 01/12/2026 à 17 h ». */
export function frenchInstant(iso) {
  const p = Object.fromEntries(instantFormat.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  const time = p.minute === '00' ? `${Number(p.hour)}\u00a0h` : `${Number(p.hour)}\u00a0h\u00a0${p.minute}`;
  return `${p.day}/${p.month}/${p.year} à ${time}`;
}

/** Whether a session may be open in this town: the login's readable hint cookie (the session's
 * own cookie is out of the page's reach). A public page asks for the session only then. */
export const maybeLoggedIn = () => document.cookie.split('; ').some((c) => c === `ef_connecte_${town}=1`);

/** Drops a stale hint (the session ended on the server). */
export function forgetSession() {
  document.cookie = `ef_connecte_${town}=; Path=/; Max-Age=0; Secure; SameSite=Lax`;
}

/** The caller's session, or a link to log in (and `null`) when there is none. */
export async function session(main) {
  try {
    return await api('/auth/session');
  } catch {
    const p = document.createElement('p');
    p.className = 'message';
    p.innerHTML = `Connectez-vous pour accéder à cette page : <a href="connexion.html?commune=${encodeURIComponent(town)}">se connecter</a>.`;
    main.replaceChildren(main.querySelector('h1'), p);
    return null;
  }
}

/** A random idempotency key (one per validation; a retry of the same validation reuses it). */
export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The type to announce for a chosen file: the browser's, or the name's when it has none. */
export function fileType(file) {
  if (file.type) return file.type;
  const ext = file.name.split('.').pop().toLowerCase();
  return { pdf: 'application/pdf', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png' }[ext] || 'application/octet-stream';
}

/** Creates an element with attributes and children (text or nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') node.className = v; else if (k in node && typeof v !== 'string') node[k] = v; else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

let idCount = 0;
/** A new element id, unique in the page: `prefix-n`. */
export const uid = (prefix) => `${prefix}-${++idCount}`;

/** A labelled field, [label, input] (a textarea when `attrs.rows` is set). */
export function field(label, attrs) {
  const id = uid('champ');
  const input = el(attrs.rows ? 'textarea' : 'input', { id, ...attrs });
  if (attrs.rows) input.value = attrs.value ?? '';
  return [el('label', { for: id }, label), input];
}

/** A problem's title, with the field it names when it names one. */
export const problemText = (p) => (p.field ? `${p.title} (champ : ${p.field})` : p.title);
