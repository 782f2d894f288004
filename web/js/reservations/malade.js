// « Mon enfant est malade »: an absence reported in one step.
import { api, el, frenchDate, onSubmit } from '../portail.js';
import { state, sayHere } from './etat.js';

/** « Mon enfant est malade »: reports an absence today or in the coming days, in one step.
 * `ctx`: `{ me, loadGrid }`. */
export function sickForm(ctx) {
  const { me, loadGrid } = ctx;
  const form = document.getElementById('malade');
  const who = document.getElementById('enfant-malade');
  const kids = new Map(state.children.map((c) => [c.id, c]));
  who.replaceChildren(...[...kids.values()].map((c) => el('option', { value: c.id }, c.first_name)));
  const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' });
  form.elements.from.value = today;
  const out = document.getElementById('message-malade');
  onSubmit(form, async () => {
    const child = kids.get(who.value);
    const data = new FormData(form);
    const body = { child: child.id, from: data.get('from'), reason: data.get('reason').trim() };
    if (data.get('to')) body.to = data.get('to');
    try {
      const r = await api(`/families/${encodeURIComponent(child.family)}/absences`, { method: 'POST', csrf: me.csrf_token, body });
      const days = r.bookings.map((b) => `${frenchDate(b.date)} (${b.unit_name})`).join(', ');
      const until = new Date(r.certificate_until).toLocaleString('fr-FR', { dateStyle: 'full', timeStyle: 'short', timeZone: 'Europe/Paris' });
      sayHere(out, `Absence signalée pour ${child.first_name} : ${days}. Le service est prévenu. Ces jours restent facturés, sauf si vous envoyez un certificat médical dans « Mes demandes » avant le ${until}.`);
      form.elements.reason.value = '';
      loadGrid();
    } catch (p) { sayHere(out, p.detail || p.title, true); }
  });
}
