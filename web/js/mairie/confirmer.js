// The guard of the acts « Espace mairie » cannot undo (billing a month, publishing it, sending
// titles to the Trésor public, a direct debit run, a closure, closing a family's file): a modal
// <dialog> that states what will happen, in figures, before anything is sent. The focus goes
// to « Annuler » (the safe choice; Escape does the same) and comes back to the button that
// opened it.
import { el, uid } from '../portail.js';

/**
 * Asks before an irreversible act; resolves to true only when the agent confirms.
 * `title`: the question (« Facturer novembre 2026 ? »); `consequences`: sentences stating
 * what will happen; `confirm`: the confirming button's label (« Facturer novembre 2026 »).
 */
export function confirmAct({ title, consequences, confirm }) {
  const opener = document.activeElement;
  const titleId = uid('confirmation-titre');
  const textId = uid('confirmation-texte');
  const cancel = el('button', { type: 'button', class: 'secondaire', value: 'non' }, 'Annuler');
  const go = el('button', { type: 'button', class: 'danger', value: 'oui' }, confirm);
  const dialog = el('dialog', { class: 'confirmation', 'aria-labelledby': titleId, 'aria-describedby': textId },
    el('h2', { id: titleId }, title),
    el('div', { id: textId }, ...consequences.map((c) => el('p', {}, c)),
      el('p', { class: 'definitif' }, 'Cette action est définitive.')),
    el('div', { class: 'actions' }, cancel, go));
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    go.addEventListener('click', () => { answer = true; dialog.close(); });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    }, { once: true });
    dialog.showModal();
    cancel.focus();
  });
}
