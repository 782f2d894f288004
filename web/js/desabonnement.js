// desabonnement.html: the page an email's « Ne plus recevoir ces rappels » link opens. The
// token is in the fragment (never sent to a server but by this script): the reminders are
// turned off at once, as the mail client's one-click unsubscribe does (RFC 8058), and the page
// offers to turn them back on.
import { api, linkTown, token } from './portail.js';

linkTown();
const etat = document.getElementById('etat');
const retablir = document.getElementById('retablir');
const couper = document.getElementById('couper');
const path = `/unsubscribe/${encodeURIComponent(token || '')}`;

function show(answer) {
  etat.textContent = answer.holiday_reminders
    ? `Les rappels de réservation seront de nouveau envoyés à ${answer.email}.`
    : `Les rappels de réservation ne seront plus envoyés à ${answer.email}.`;
  retablir.hidden = answer.holiday_reminders;
  couper.hidden = !answer.holiday_reminders;
}

async function send(suffix, focus) {
  try {
    show(await api(`${path}${suffix}`, { method: 'POST' }));
    focus?.();
  } catch (problem) {
    etat.textContent = problem.title;
    retablir.hidden = true;
    couper.hidden = true;
  }
}

retablir.addEventListener('click', () => send('/undo', () => couper.focus()));
couper.addEventListener('click', () => send('', () => retablir.focus()));
if (token) await send('');
else etat.textContent = 'Ce lien est incomplet\u202f: ouvrez-le tel qu’il figure dans l’e-mail, ou réglez les rappels dans «\u202fMon compte\u202f».';
