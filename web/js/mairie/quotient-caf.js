// « Quotient familial de la CAF » (tab « Familles »): a family's QF, the consent recorded for
// it, and « Interroger la CAF ».
import { say } from '../portail.js';
import { qfPanel } from '../quotient.js';

export function startQuotient(ctx) {
  document.getElementById('choix-quotient').addEventListener('submit', async (event) => {
    event.preventDefault();
    const family = document.getElementById('famille-quotient').value.trim();
    if (!family) { say(ctx.message, 'Indiquez la référence de la famille.', true); return; }
    await qfPanel(document.getElementById('panneau-quotient'), family, ctx.me, ctx.message, true).catch((p) => say(ctx.message, p.title, true));
  });
}
