// « Hors délai »: a late addition or cancellation for a family, the child picked by name.
import { api, say, el, euros, frenchDate, newKey } from '../portail.js';
import { NNBSP } from './commun.js';
import { childPicker } from './commun.js';
import { confirmAct } from './confirmer.js';

let latePicker = null;

/** Lists the units, draws the child picker, wires « Enregistrer la modification ». */
export function startLateChange(ctx) {
  document.getElementById('prestation-modif').replaceChildren(...ctx.units.map((u) => el('option', { value: u.id }, u.name)));
  document.getElementById('modification').addEventListener('submit', (event) => lateChange(ctx, event));
  latePicker = childPicker(document.getElementById('choix-enfant-modif'), 'modif');
}

/** Opens the tab with a child already chosen (« Modification hors délai » on a family's page). */
export function chooseLateChild(family, familyName, child, name) {
  latePicker.set(family, familyName, child, name);
  location.hash = 'hors-delai';
  document.getElementById('date-modif').focus();
}

async function lateChange(ctx, event) {
  const { me, message } = ctx;
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const button = form.querySelector('button[type=submit]');
  const who = latePicker.pick();
  if (!who) { say(message, "Choisissez l'enfant : tapez son nom, puis choisissez-le dans la liste.", true); latePicker.focus(); return; }
  if (!data.get('date')) { say(message, 'Indiquez la date.', true); return; }
  const line = { child: who.child, unit: data.get('unit'), date: data.get('date'), action: data.get('action') };
  const path = `/staff/families/${encodeURIComponent(who.family)}/bookings`;
  button.disabled = true;
  try {
    // The price first (nothing is written), then the agent confirms knowing what it costs.
    const preview = (await api(`${path}/preview`, { method: 'POST', csrf: me.csrf_token, body: { lines: [line] } })).lines[0];
    if (preview.error) { say(message, preview.error.message, true); return; }
    const unit = form.querySelector('#prestation-modif option:checked')?.textContent ?? line.unit;
    const adding = preview.action === 'add';
    const cost = adding
      ? `Elle sera facturée ${euros(preview.price)}${preview.late ? ' (tarif majoré, hors délai)' : ''}.`
      : (preview.late ? `Elle reste facturée ${euros(preview.price)} (annulation hors délai).` : 'Elle ne sera pas facturée.');
    const ok = await confirmAct({
      title: `${adding ? 'Ajouter' : 'Annuler'} ${unit} pour ${who.name} le ${frenchDate(preview.date)}${NNBSP}?`,
      consequences: [cost, 'La famille est prévenue par e-mail.'],
      confirm: adding ? 'Enregistrer l’ajout' : 'Enregistrer l’annulation',
    });
    if (!ok) { say(message, 'Rien n’a été enregistré.'); return; }
    const answer = await api(path, {
      method: 'POST', csrf: me.csrf_token, key: newKey(), body: { lines: [line] },
    });
    const r = answer.lines[0];
    const what = r.action === 'add' ? 'Ajout enregistré' : 'Annulation enregistrée';
    const price = r.action === 'add'
      ? `${euros(r.price)}${r.late ? ' (tarif majoré, hors délai)' : ''}`
      : (r.late ? `facturée ${euros(r.price)} (hors délai)` : 'sans frais');
    say(message, `${what} pour ${who.name} : ${frenchDate(r.date)} – ${price}. La famille est prévenue par e-mail.`);
  } catch (p) {
    say(message, p.lines?.[0]?.error?.message || p.title, true);
  } finally { button.disabled = false; }
}
