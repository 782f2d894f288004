// connexion.html: the page's own script (no inline script: the pages run under a strict CSP).
import { api, say, onSubmit, linkTown, town } from './portail.js';
linkTown();
const message = document.getElementById('message');
onSubmit(document.getElementById('connexion'), async (data) => {
  try {
    await api('/auth/login', { method: 'POST', body: { email: data.get('email'), password: data.get('password') } });
    location.href = `index.html?commune=${encodeURIComponent(town)}`;
  } catch (problem) { say(message, problem.title, true); }
});
