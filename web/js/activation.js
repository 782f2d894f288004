// activation.html: the page's own script (no inline script: the pages run under a strict CSP).
import { api, say, onSubmit, linkTown, town, token } from './portail.js';
linkTown();
const message = document.getElementById('message');
const activer = document.getElementById('activer');
const nouveauLien = document.getElementById('nouveau-lien');
if (token) activer.hidden = false; else nouveauLien.hidden = false;
onSubmit(activer, async (data) => {
  if (data.get('password') !== data.get('confirmation')) {
    say(message, 'Les deux mots de passe ne sont pas identiques.', true);
    return;
  }
  try {
    await api('/auth/activate', { method: 'POST', body: { token, password: data.get('password') } });
    location.href = `index.html?commune=${encodeURIComponent(town)}&compte=active`;
  } catch (problem) {
    say(message, problem.title, true);
    if (problem.code === 'link_expired' || problem.code === 'link_invalid') { activer.hidden = true; nouveauLien.hidden = false; }
  }
});
onSubmit(nouveauLien, async (data) => {
  try {
    const answer = await api('/auth/activation-link', { method: 'POST', body: { email: data.get('email') } });
    say(message, answer.message);
  } catch (problem) { say(message, problem.title, true); }
});
