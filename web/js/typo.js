// French typography for what the pages write (the Imprimerie nationale's rules, as French public
// sites follow them): real plurals, times « 8 h 30 », a narrow no-break space (U+202F) before
// « ; : ! ? » and inside « guillemets », ’ as the apostrophe.

/** The narrow no-break space. */
export const NNBSP = '\u202f';

/** `plural(1, 'ligne')` → « 1 ligne », `plural(22, 'ligne ajoutée', 'lignes ajoutées')` →
 * « 22 lignes ajoutées »; 0 and 1 take the singular, as in French. */
export function plural(n, one, many = `${one}s`) {
  return `${n}\u00a0${Math.abs(n) >= 2 ? many : one}`;
}

/** A time as French writes it: `'08:30'` or a `Date` (in Paris) → « 8 h 30 », `'17:00'` → « 17 h ». */
export function hours(time) {
  const hm = time instanceof Date
    ? time.toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' })
    : String(time);
  const [h, m] = hm.split(':');
  return m === '00' ? `${Number(h)}\u00a0h` : `${Number(h)}\u00a0h\u00a0${m}`;
}

/** A text with French punctuation: a narrow no-break space before « ; : ! ? » (replacing a
 * space, or added), inside « guillemets », ’ between letters, « 23h59 » as « 23 h 59 ». A colon
 * in an address or a time (« https:// », « 8:30 ») is left alone. */
export function fr(text) {
  return String(text)
    .replace(/(\p{L})'(?=\p{L})/gu, '$1’')
    .replace(/[ \u00a0\u202f]?([;:!?])(?=\s|$|\))/gu, `${NNBSP}$1`)
    .replace(/«[ \u00a0\u202f]?/g, `«${NNBSP}`)
    .replace(/[ \u00a0\u202f]?»/g, `${NNBSP}»`)
    .replace(/\b(\d{1,2})h(\d{2})\b/g, '$1\u00a0h\u00a0$2');
}

/** Applies `fr()` to every text of `node` (HTML the server rendered, such as a news article). */
export function frTree(node) {
  const walk = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  // An elision can end a text (« l'<strong>étude</strong> »).
  for (let t = walk.nextNode(); t; t = walk.nextNode()) t.data = fr(t.data).replace(/(\p{L})'$/u, '$1’');
  return node;
}
