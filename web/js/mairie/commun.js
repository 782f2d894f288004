// Helpers of more than one tab of « Espace mairie »: printing one section, picking a child by name.
import { api, el, field } from '../portail.js';

/** The narrow no-break space French typography puts before « : ; ! ? » and inside guillemets. */
export const NNBSP = '\u202f';

/** « 1 facture », « 10 factures », « aucune facture »: a count with its noun agreed, never
 * « facture(s) ». `none` words zero when it is not the plural (« aucun avertissement »). */
export function count(n, one, many, none) {
  if (n === 0 && none) return none;
  return `${n} ${n === 1 || n === 0 ? one : many}`;
}

/** Prints one section alone (the print style hides the rest while body[data-imprimer] is set). */
export function printButton(section, label) {
  const button = el('button', { type: 'button', class: 'secondaire' }, label);
  button.addEventListener('click', () => {
    document.body.dataset.imprimer = section;
    window.addEventListener('afterprint', () => delete document.body.dataset.imprimer, { once: true });
    window.print();
  });
  return button;
}

/** A child picked by name, searched as the agent types (first or last name, email, family
 * reference), drawn in `box`: `pick()` is `{ family, child, name }` (the child's name) or null,
 * `set(...)` preselects one (from a family's page), `focus()` moves to the search field. */
export function childPicker(box, prefix) {
  const [searchLabel, search] = field('Enfant (nom ou prénom)', { type: 'search', autocomplete: 'off' });
  const select = el('select', { id: `${prefix}-enfant`, required: true });
  const status = el('p', { class: 'aide', role: 'status', 'aria-live': 'polite' }, 'Tapez au moins deux lettres.');
  let timer = null;
  let asked = 0;
  const fill = (children) => {
    select.replaceChildren(...children.map((c) => el('option', { value: `${c.family}|${c.child}`, 'data-nom': c.name }, `${c.name} – ${c.familyName}`)));
    status.textContent = children.length ? `${count(children.length, 'enfant trouvé', 'enfants trouvés')}.` : 'Aucun enfant ne correspond.';
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    const q = search.value.trim();
    if (q.length < 2) { fill([]); status.textContent = 'Tapez au moins deux lettres.'; return; }
    timer = setTimeout(async () => {
      const n = ++asked;
      try {
        const hits = await api(`/staff/families?q=${encodeURIComponent(q)}`);
        if (n !== asked) return; // a newer search is on its way
        const words = q.toLowerCase().split(/\s+/);
        const children = hits.flatMap((f) => f.children.map((c) => ({ family: f.reference, familyName: f.name, child: c.id, name: `${c.first_name} ${c.last_name}` })));
        // The children whose own name matches (a family search also finds their siblings);
        // every child of the families found when the search was by email or reference.
        const fold = (t) => t.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
        const own = children.filter((c) => words.every((w) => fold(c.name).includes(fold(w))));
        fill(own.length ? own : children);
      } catch (p) { status.textContent = p.title; }
    }, 250);
  });
  box.replaceChildren(el('div', {}, searchLabel, search),
    el('div', {}, el('label', { for: select.id }, 'Enfant choisi'), select), status);
  return {
    pick() {
      const option = select.selectedOptions[0];
      if (!option) return null;
      const [family, child] = option.value.split('|');
      return { family, child, name: option.dataset.nom };
    },
    set(family, familyName, child, name) {
      search.value = name;
      fill([{ family, familyName, child, name }]);
    },
    focus() { search.focus(); },
  };
}
