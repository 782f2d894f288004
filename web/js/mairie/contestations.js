// « Contestations »: the invoice lines families contest, each answered with a credit note or a
// refusal. (The tab's « Régularisations » are regularisations.js.)
import { api, el, euros, field, problemText } from '../portail.js';

/** The contests waiting for an answer, each with its answer form. */
export async function loadContests(ctx) {
  const { me } = ctx;
  const queue = await api('/staff/invoices/contests');
  const box = document.getElementById('liste-contestations');
  if (!queue.length) { box.replaceChildren(el('p', {}, 'Aucune contestation en attente.')); return; }
  box.replaceChildren(...queue.map((c) => {
    const [amountLabel, amount] = field('Montant de l\'avoir (€)', { name: 'amount', inputmode: 'decimal', value: (c.line_amount / 100).toFixed(2).replace('.', ',') });
    const [reasonLabel, reason] = field('Réponse à la famille', { name: 'reason', rows: 2, maxlength: 1000, required: '' });
    const told = el('p', { role: 'status', 'aria-live': 'polite' });
    const accept = el('button', { type: 'submit', value: 'oui' }, 'Accepter (avoir)');
    const refuse = el('button', { type: 'submit', value: 'non', class: 'secondaire' }, 'Refuser');
    const form = el('form', { class: 'contestation' },
      el('h3', {}, `${c.family_name} – facture n° ${c.invoice}`),
      el('p', {}, `Ligne : ${c.line_text} (${euros(c.line_amount)})`),
      el('blockquote', {}, c.message),
      amountLabel, amount, reasonLabel, reason, accept, refuse, told);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const yes = event.submitter === accept;
      const cents = Math.round(Number(amount.value.replace(/\s/g, '').replace(',', '.')) * 100);
      const body = { accept: yes, reason: reason.value, amount: yes ? cents : null };
      accept.disabled = true; refuse.disabled = true;
      try {
        const done = await api(`/staff/invoices/contests/${encodeURIComponent(c.family)}/${encodeURIComponent(c.id)}/decision`, { method: 'POST', csrf: me.csrf_token, body });
        told.textContent = done.status === 'accepted' ? `Avoir n° ${done.credit_note} émis ; la famille est prévenue.` : 'Refus envoyé à la famille.';
      } catch (problem) { told.textContent = problemText(problem); accept.disabled = false; refuse.disabled = false; }
    });
    return form;
  }));
}
