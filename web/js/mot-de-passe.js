// mot-de-passe.html: the page's own script (no inline script: the pages run under a strict CSP).
import { api, say, onSubmit, linkTown, town, token } from './portail.js';
linkTown();
const message = document.getElementById('message');
const demande = document.getElementById('demande');
const nouveau = document.getElementById('nouveau');
if (token) nouveau.hidden = false; else demande.hidden = false;
onSubmit(demande, async (data) => {
  try {
    const answer = await api('/auth/password-reset', { method: 'POST', body: { email: data.get('email') } });
    say(message, answer.message);
  } catch (problem) { say(message, problem.title, true); }
});
onSubmit(nouveau, async (data) => {
  if (data.get('password') !== data.get('confirmation')) {
    say(message, 'Les deux mots de passe ne sont pas identiques.', true);
    return;
  }
  try {
    await api('/auth/password-reset/confirm', { method: 'POST', body: { token, password: data.get('password') } });
    location.href = `index.html?commune=${encodeURIComponent(town)}`;
  } catch (problem) {
    say(message, problem.title, true);
    if (problem.code === 'link_expired' || problem.code === 'link_invalid') { nouveau.hidden = true; demande.hidden = false; }
  }
});
