// « Mon enfant est malade » (its own page, from the menu and the home page): an absence
// reported in one step; the answer says which days can still be cancelled for free (and offers
// to), which stay billed, until when a certificate unbills them, and links to « Mes demandes »
// with the child and the days filled in.
import { api, say, el, euros, frenchDate, linkTown, session, onSubmit, town } from './portail.js';
import { plural, fr, hours } from './typo.js';

linkTown();
const main = document.getElementById('contenu');
const me = await session(main);

const todayInParis = () => new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' });
const isoInParis = (instant) => new Date(instant).toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' });
/** An instant as a sentence says it: « jeudi 17/12/2026 à 0 h ». */
const when = (instant) => `${frenchDate(isoInParis(instant))} à ${hours(new Date(instant))}`;
const dayList = (days) => days.map((b) => `${frenchDate(b.date)} (${b.unit_name})`).join(', ');

/** Puts cancellations of `days` in the basket, then says so with the way to the basket. */
async function cancelDays(child, days, button, region) {
  button.disabled = true;
  try {
    await api(`/families/${encodeURIComponent(child.family)}/basket/lines`, {
      method: 'POST', csrf: me.csrf_token,
      body: { lines: days.map((b) => ({ child: child.id, unit: b.unit, date: b.date, action: 'cancel' })) },
    });
    say(region, fr(`${plural(days.length, 'annulation ajoutée', 'annulations ajoutées')} au panier : validez-le pour qu’elles comptent.`));
    region.append(' ', el('a', { href: `panier.html?commune=${encodeURIComponent(town)}` }, 'Voir mon panier et le valider'));
  } catch (problem) {
    say(region, problem.lines?.[0]?.error?.message || problem.title, true);
    button.disabled = false;
  }
  region.scrollIntoView({ block: 'nearest' });
}

/** The answer to a report, under the form, with the focus on it. */
function showAnswer(child, asked, r) {
  const box = document.getElementById('reponse-malade');
  const free = r.bookings.filter((b) => b.cancellable_until);
  const billed = r.bookings.filter((b) => !b.cancellable_until);
  const parts = [el('h2', { id: 'titre-reponse-malade' }, fr(`Absence signalée pour ${child.first_name}`)),
    el('p', {}, fr(`Le service est prévenu pour : ${dayList(r.bookings)}.`))];
  if (r.to < asked) {
    parts.push(el('p', {}, fr(`Une absence se signale au plus jusqu’au ${frenchDate(r.to)} : signalez les jours suivants plus tard.`)));
  }
  if (free.length) {
    const region = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: '' });
    const cancel = el('button', { type: 'button' }, free.length > 1 ? `Annuler ces ${free.length} jours sans frais` : 'Annuler ce jour sans frais');
    cancel.addEventListener('click', () => cancelDays(child, free, cancel, region));
    parts.push(el('p', {}, fr(`Encore annulable sans frais : ${free.map((b) => `${frenchDate(b.date)} (${b.unit_name}, jusqu’au ${when(b.cancellable_until)})`).join(', ')}.`)), cancel, region);
  }
  if (billed.length) {
    const total = billed.reduce((t, b) => t + b.price, 0);
    parts.push(el('p', {}, fr(`${billed.length > 1 ? 'Ces jours restent facturés' : 'Ce jour reste facturé'} (${dayList(billed)}, ${euros(total)}), sauf si vous envoyez un certificat médical avant le ${when(r.certificate_until)}.`)));
    const q = new URLSearchParams({ commune: town, certificat: '1', enfant: child.id, du: r.from, au: r.to });
    parts.push(el('p', {}, el('a', { class: 'bouton', href: `demandes.html?${q}` }, 'Envoyer le certificat médical')));
  }
  box.replaceChildren(...parts);
  box.classList.remove('erreur');
  box.hidden = false;
  box.focus();
}

if (me) {
  const message = document.getElementById('message');
  try {
    const children = await api('/calendar/children');
    const kids = new Map(children.map((c) => [c.id, c]));
    const form = document.getElementById('malade');
    const who = document.getElementById('enfant-malade');
    who.replaceChildren(...[...kids.values()].map((c) => el('option', { value: c.id }, c.first_name)));
    form.elements.from.value = todayInParis();
    const box = document.getElementById('reponse-malade');
    // A new child or new dates: the last answer no longer applies.
    for (const input of form.elements) input.addEventListener('change', () => { box.hidden = true; });
    onSubmit(form, async () => {
      const child = kids.get(who.value);
      const data = new FormData(form);
      const body = { child: child.id, from: data.get('from'), reason: data.get('reason').trim() };
      if (data.get('to')) body.to = data.get('to');
      try {
        const r = await api(`/families/${encodeURIComponent(child.family)}/absences`, { method: 'POST', csrf: me.csrf_token, body });
        form.elements.reason.value = '';
        showAnswer(child, body.to || body.from, r);
      } catch (p) {
        box.replaceChildren(el('h2', { id: 'titre-reponse-malade' }, 'Absence non signalée'), el('p', {}, fr(p.detail || p.title)));
        box.classList.add('erreur');
        box.hidden = false;
        box.focus();
      }
    });
    document.getElementById('page').hidden = false;
  } catch (problem) { say(message, problem.title, true); }
}
