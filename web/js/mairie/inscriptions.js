// « Inscriptions »: the campaign's dashboard (a page of families at a time, filtered by status,
// as a CSV too) and, for the administrator, the rollover's preview and run (called again until
// the run is finished).
import { api, el, town, problemText } from '../portail.js';

const LEVEL = { moves: (l) => `${l.from} → ${l.to}`, leaves: (l) => `${l.from} → quitte l’école`, unchanged: () => 'niveau inchangé' };

/** The school year after the one today is in (the campaign one prepares). */
function nextYear() {
  const d = new Date();
  const first = d.getMonth() >= 8 ? d.getFullYear() + 1 : d.getFullYear();
  return `${first}-${first + 1}`;
}

const previous = (year) => { const a = Number(year.slice(0, 4)) - 1; return `${a}-${a + 1}`; };

export function startEnrolments(ctx) {
  const form = document.getElementById('form-inscriptions');
  const year = document.getElementById('annee-inscriptions');
  year.value = nextYear();
  const box = document.getElementById('tableau-inscriptions');
  let cursor = null;
  async function load(more) {
    const status = document.getElementById('statut-inscriptions').value;
    const query = new URLSearchParams();
    if (status) query.set('status', status);
    if (more && cursor) query.set('cursor', cursor);
    try {
      const page = await api(`/staff/school-years/${encodeURIComponent(year.value)}/dashboard?${query}`);
      cursor = page.next || null;
      const rows = page.rows.map((r) => el('tr', {},
        el('td', {}, r.family_name), el('td', {}, `${r.first_name} ${r.last_name}`), el('td', {}, r.level || ''),
        el('td', {}, r.status_label), el('td', {}, r.missing.join(', '))));
      const table = more ? box.querySelector('tbody') : null;
      if (table) { table.append(...rows); } else {
        const csv = new URLSearchParams(query);
        csv.set('format', 'csv');
        csv.delete('cursor');
        box.replaceChildren(
          el('table', {}, el('caption', {}, `Inscriptions ${year.value}`),
            el('thead', {}, el('tr', {}, ...['Famille', 'Enfant', 'Niveau', 'Statut', 'À compléter'].map((h) => el('th', { scope: 'col' }, h)))),
            el('tbody', {}, ...rows)),
          el('p', {}, el('a', { href: `/api/towns/${encodeURIComponent(town)}/staff/school-years/${encodeURIComponent(year.value)}/dashboard?${csv}` }, 'Télécharger cette page (CSV)')));
      }
      box.querySelector('.suite')?.remove();
      if (cursor) {
        const next = el('button', { type: 'button', class: 'secondaire suite' }, 'Familles suivantes');
        next.addEventListener('click', () => load(true));
        box.append(next);
      }
    } catch (p) { box.replaceChildren(el('p', { class: 'erreur' }, problemText(p))); }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(false); });
  if (ctx.me.role === 'town_admin') startRollover(ctx, year);
}

function startRollover(ctx, year) {
  document.getElementById('passage-annee').hidden = false;
  const out = document.getElementById('resultat-passage');
  const uri = () => `/staff/school-years/${encodeURIComponent(previous(year.value))}/rollover`;
  document.getElementById('apercu-passage').addEventListener('click', async () => {
    try {
      const dry = await api(uri());
      out.replaceChildren(el('ul', {}, ...dry.families.flatMap((f) => f.children.map((c) =>
        el('li', {}, `${f.name} – ${c.first_name} : ${LEVEL[c.level.change](c.level)}`
          + `${c.started.length ? ` ; inscrit(e) : ${c.started.join(', ')}` : ''}`
          + `${c.lapsing.length ? ` ; fin de validité : ${c.lapsing.join(', ')}` : ''}`)))),
      dry.next ? el('p', { class: 'aide' }, 'Aperçu des 100 premières familles.') : '');
    } catch (p) { out.textContent = problemText(p); }
  });
  document.getElementById('lancer-passage').addEventListener('click', async () => {
    try {
      let run;
      do {
        run = await api(uri(), { method: 'POST', csrf: ctx.me.csrf_token });
        out.textContent = `${run.families} familles traitées, ${run.children_changed} enfants modifiés…`;
      } while (!run.finished_at);
      out.textContent = `Passage terminé : ${run.families} familles, ${run.children_changed} enfants modifiés.`;
    } catch (p) { out.textContent = problemText(p); }
  });
}
