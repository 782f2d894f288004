// The quotient familial from the CAF (API Particulier): the family's QF and its source, the
// consent with the allocataire's identity (given or withdrawn), and « Interroger la CAF » for
// staff, « Demander mon quotient à la CAF » for guardians. Used in « Mon compte » (guardians) and « Espace mairie › Familles » (staff).
import { api, say, el, field, problemText } from './portail.js';

const SOURCES = { caf: 'transmis par la CAF', certificate: 'saisi d’après l’attestation déposée', none: 'non renseigné' };

function when(iso) {
  return new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' }).format(new Date(iso));
}

/** Shows family `f`'s QF in `box`; `me` is the session (its CSRF token), `staff` adds the fetch. */
export async function qfPanel(box, f, me, out, staff = false) {
  render(box, f, await api(`/families/${encodeURIComponent(f)}/qf`), me, out, staff);
}

function render(box, f, v, me, out, staff) {
  const path = `/families/${encodeURIComponent(f)}/qf`;
  const again = (v2) => render(box, f, v2, me, out, staff);
  const qf = v.quotient_familial == null ? 'Quotient familial non renseigné.' : `Quotient familial\u202f: ${v.quotient_familial} (${SOURCES[v.source]}${v.source === 'caf' && v.fetched ? `, ${v.fetched.provider}, mois ${v.fetched.month}, obtenu le ${when(v.fetched.fetched_at)}` : ''}).`;
  const parts = [el('p', {}, qf)];
  const active = v.consent && !v.consent.revoked_at;
  if (active) {
    parts.push(el('p', {}, `Accord pour interroger la CAF donné le ${when(v.consent.given_at)}${v.consent.by_staff ? ' (enregistré par la mairie)' : ''}.`));
    const revoke = el('button', { type: 'button', class: 'secondaire' }, 'Retirer l’accord');
    revoke.addEventListener('click', async () => {
      try { again(await api(`${path}/consent`, { method: 'DELETE', csrf: me.csrf_token })); say(out, 'L’accord est retiré\u202f: la CAF ne sera plus interrogée.'); } catch (p) { say(out, problemText(p), true); }
    });
    parts.push(revoke);
    if (staff) {
      const fetch = el('button', { type: 'button' }, 'Interroger la CAF');
      fetch.addEventListener('click', async () => {
        fetch.disabled = true;
        try { const v2 = await api(`/staff${path}`, { method: 'POST', csrf: me.csrf_token, body: {} }); again(v2); say(out, `Quotient familial obtenu\u202f: ${v2.quotient_familial}.`); } catch (p) { say(out, p.title, true); } finally { fetch.disabled = false; }
      });
      parts.push(' ', fetch);
    } else {
      // The guardian asks too (once a day reaches the CAF; later asks that day read the answer).
      const ask = el('button', { type: 'button' }, 'Demander mon quotient à la CAF');
      ask.addEventListener('click', async () => {
        ask.disabled = true;
        try { const v2 = await api(`${path}/fetch`, { method: 'POST', csrf: me.csrf_token, body: {} }); again(v2); say(out, `Quotient familial obtenu de la CAF\u202f: ${v2.quotient_familial}. Il s’applique à vos prochaines réservations.`); } catch (p) { say(out, p.title, true); } finally { ask.disabled = false; }
      });
      parts.push(' ', ask);
    }
  } else {
    const form = el('form', { novalidate: true, class: 'choix' },
      el('p', { class: 'aide' }, 'Avec votre accord, la mairie obtient votre quotient familial directement auprès de la CAF ou de la MSA (API Particulier), au lieu d’une attestation. Indiquez l’identité de l’allocataire telle que la CAF la connaît.'),
      ...field('Nom de naissance', { name: 'birth_name', required: true, autocomplete: 'family-name' }),
      ...field('Prénoms (dans l’ordre de l’état civil)', { name: 'first_names', required: true }),
      el('label', { for: `sexe-${f}` }, 'Sexe'), el('select', { id: `sexe-${f}`, name: 'sex' }, el('option', { value: 'F' }, 'Féminin'), el('option', { value: 'M' }, 'Masculin')),
      ...field('Date de naissance', { name: 'birth_date', type: 'date', required: true }),
      ...field('Pays de naissance (code INSEE, 99100 pour la France)', { name: 'birth_country', value: '99100', required: true, inputmode: 'numeric' }),
      ...field('Commune de naissance (code INSEE, si né en France)', { name: 'birth_commune' }),
      el('button', { type: 'submit' }, 'Donner mon accord'));
    form.querySelector('[name=birth_country]').value = '99100';
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const d = new FormData(form);
      const commune = String(d.get('birth_commune')).trim();
      const body = {
        birth_name: String(d.get('birth_name')).trim(),
        first_names: String(d.get('first_names')).split(/[\s,]+/).filter(Boolean),
        sex: d.get('sex'),
        birth_date: d.get('birth_date'),
        birth_country: String(d.get('birth_country')).trim(),
        ...(commune ? { birth_commune: commune } : {}),
      };
      try { again(await api(`${path}/consent`, { method: 'PUT', csrf: me.csrf_token, body })); say(out, 'Votre accord est enregistré.'); } catch (p) { say(out, problemText(p), true); }
    });
    parts.push(form);
  }
  box.replaceChildren(el('h3', {}, 'Quotient familial de la CAF'), ...parts);
}
