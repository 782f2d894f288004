// « Pointage » (tab « Aujourd'hui »): a day's list of one unit, the attendance marks, the CSV
// export, printing, and a child present without a booking.
import { api, say, el, town, frenchDate, newKey } from '../portail.js';
import { ATTENDANCE_MARKS } from '../libelles.js';
import { NNBSP, childPicker, count, printButton } from './commun.js';

/** Lists the units, opens on today, wires « Afficher la liste ». */
/** The allergy / PAI mark of a validated file: « Allergie / PAI », what to do on a tap. */
function healthMark(m) {
  const title = m.pai_until ? 'Allergie / PAI' : 'Allergie';
  return el('details', { class: 'marque-sante' }, el('summary', {}, `⚠ ${title} : ${m.allergies.join(', ') || 'PAI'}`),
    el('ul', {}, ...m.what_to_do.map((w) => el('li', {}, w))));
}

export function startAttendance(ctx, today) {
  document.getElementById('prestation').replaceChildren(...ctx.units.map((u) => el('option', { value: u.id }, u.name)));
  document.getElementById('jour').value = today;
  document.getElementById('choix-pointage').addEventListener('submit', (event) => showAttendance(ctx, event));
}

/** The chosen day's list of the chosen unit, with its form of marks. */
export async function showAttendance(ctx, event) {
  const { me, message, units } = ctx;
  event?.preventDefault();
  const date = document.getElementById('jour').value;
  const unit = document.getElementById('prestation').value;
  const box = document.getElementById('liste-pointage');
  const query = `date=${date}&unit=${encodeURIComponent(unit)}`;
  try {
    const list = await api(`/staff/attendance?${query}`);
    const csv = el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/attendance?${query}&format=csv`, download: '' }, 'Exporter la liste (tableur, CSV)');
    if (list.length === 0) { box.replaceChildren(el('p', {}, 'Aucun enfant inscrit ce jour-là.'), csv, walkIn(ctx, date, unit)); return; }
    const form = el('form', { novalidate: true });
    const rows = list.map((c) => el('tr', {},
      el('th', { scope: 'row' }, `${c.last_name} ${c.first_name}`),
      el('td', { 'data-label': 'Classe' }, c.class || ''),
      el('td', { 'data-label': 'Santé et régime' }, c.health_mark ? healthMark(c.health_mark) : '', c.health_notes || '',
        c.absence_report ? el('strong', { class: 'absence-signalee' }, `${c.health_notes ? ' – ' : ''}Absence signalée par la famille le ${frenchInstantShort(c.absence_report.at)} : ${c.absence_report.reason}`) : '',
        c.justified ? el('strong', { class: 'absence-signalee' }, ` – Absence justifiée par certificat médical : non facturée, quel que soit le pointage${c.attendance === 'present' ? ' (pointé présent : à vérifier)' : ''}.`) : ''),
      el('td', {}, el('fieldset', { class: 'marques' }, el('legend', { class: 'visually-hidden' }, `Présence de ${c.first_name} ${c.last_name}`),
        ...ATTENDANCE_MARKS.map(([value, label]) => el('label', { class: 'en-ligne' },
          el('input', { type: 'radio', name: c.child, value, checked: c.attendance === value }), ` ${label}`))))));
    const save = el('button', { type: 'submit' }, 'Enregistrer le pointage');
    form.append(el('table', { class: 'lignes' },
      el('caption', {}, `${count(list.length, 'enfant', 'enfants')} – ${frenchDate(date)} – ${units.find((u) => u.id === unit)?.name ?? unit}`),
      el('thead', {}, el('tr', {}, ...['Enfant', 'Classe', 'Santé et régime', 'Présence'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows)), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const marks = list.filter((c) => data.get(c.child)).map((c) => ({ child: c.child, mark: data.get(c.child) }));
      if (marks.length === 0) { say(message, 'Cochez la présence d\'au moins un enfant.', true); return; }
      save.disabled = true;
      try {
        await api('/staff/attendance', { method: 'POST', csrf: me.csrf_token, body: { date, unit, marks } });
        say(message, `Pointage enregistré (${count(marks.length, 'enfant', 'enfants')}).`);
        await showAttendance(ctx);
      } catch (p) { say(message, p.marks?.[0]?.error || p.title, true); save.disabled = false; }
    });
    box.replaceChildren(form, el('p', {}, csv, ' ', printButton('pointage', 'Imprimer la liste')), walkIn(ctx, date, unit));
  } catch (p) { say(message, p.title, true); }
}

/** A child present without a booking, added in one step: the late booking (at the late price,
 * the family emailed) and the « present » mark. */
function walkIn(ctx, date, unit) {
  const { me, message } = ctx;
  const form = el('form', { class: 'fiche', novalidate: true });
  const pickerBox = el('div', { class: 'choix' });
  const picker = childPicker(pickerBox, 'present');
  const add = el('button', { type: 'submit' }, 'Ajouter comme présent(e)');
  form.append(el('h3', {}, 'Un enfant présent sans réservation'), pickerBox, add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const who = picker.pick();
    if (!who) { say(message, "Choisissez l'enfant : tapez son nom, puis choisissez-le dans la liste.", true); picker.focus(); return; }
    add.disabled = true;
    try {
      await api(`/staff/families/${encodeURIComponent(who.family)}/bookings`, {
        method: 'POST', csrf: me.csrf_token, key: newKey(), body: { lines: [{ child: who.child, unit, date, action: 'add' }] },
      });
      await api('/staff/attendance', { method: 'POST', csrf: me.csrf_token, body: { date, unit, marks: [{ child: who.child, mark: 'present' }] } });
      await showAttendance(ctx);
      say(message, `${who.name} est ajouté(e) à la liste, présent(e). La réservation hors délai est facturée ; la famille est prévenue par e-mail.`);
    } catch (p) { say(message, p.lines?.[0]?.error?.message || p.marks?.[0]?.error || p.title, true); add.disabled = false; }
  });
  return form;
}

const shortInstant = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris' });
function frenchInstantShort(at) { return shortInstant.format(new Date(at)); }
