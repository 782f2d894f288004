// contact.html: the page's own script (no inline script: the pages run under a strict CSP).
import { say, onSubmit, linkTown } from './portail.js';
linkTown();
const message = document.getElementById('message');
const form = document.getElementById('contact');
onSubmit(form, async (data) => {
  const body = Object.fromEntries(['town', 'name', 'email', 'phone', 'message', 'website'].map((k) => [k, data.get(k) || '']));
  try {
    const res = await fetch('/api/contact', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw answer;
    say(message, answer.message);
    form.reset();
  } catch (problem) { say(message, problem.title || 'Le service ne répond pas. Réessayez dans quelques instants.', true); }
});
