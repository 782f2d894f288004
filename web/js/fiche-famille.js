// « Espace mairie » › Familles › Modifier: a family's and its children's records, corrected by
// staff (PUT with the etag read: someone else's change meanwhile is refused, not overwritten).
import { confirmAct } from './mairie/confirmer.js';
import { mandateBlock } from './encaissements.js';
import { accountBlock } from './regularisations.js';
import { emailsBlock } from './courriels.js';
import { api, say, el, uid, field, problemText, frenchDate } from './portail.js';

function familyForm(record, ctx) {
  const name = field('Nom de la famille', { name: 'name', value: record.name, required: true, maxlength: 200 });
  const qf = field('Quotient familial', { name: 'qf', type: 'number', min: 0, max: 100000, step: 1, value: record.quotient_familial ?? '' });
  const resident = el('input', { type: 'checkbox', name: 'resident', checked: record.resident });
  const guardians = record.guardians.map((g, i) => el('fieldset', {},
    el('legend', {}, `Responsable ${i + 1} – ${g.email}`),
    ...field('Prénom', { name: `g${i}-first`, value: g.first_name, required: true, maxlength: 200 }),
    ...field('Nom', { name: `g${i}-last`, value: g.last_name, required: true, maxlength: 200 }),
    ...field('Téléphone', { name: `g${i}-phone`, type: 'tel', value: g.phone ?? '', maxlength: 30 })));
  const form = el('form', { class: 'fiche', novalidate: true },
    el('h4', {}, 'La famille'),
    ...name, el('label', { class: 'en-ligne' }, resident, ' Résidente de la commune'), ...qf,
    ...guardians,
    el('p', { class: 'aide' }, "Pour ajouter un responsable ou changer son adresse e-mail, importez la famille."),
    el('button', { type: 'submit' }, 'Enregistrer la famille'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const qfValue = data.get('qf').trim();
    const body = {
      etag: record.etag,
      name: data.get('name'),
      resident: resident.checked,
      quotient_familial: qfValue === '' ? null : Number(qfValue),
      guardians: record.guardians.map((g, i) => ({
        email: g.email,
        first_name: data.get(`g${i}-first`),
        last_name: data.get(`g${i}-last`),
        phone: data.get(`g${i}-phone`).trim() || null,
      })),
    };
    try {
      const saved = await api(`/staff/families/${encodeURIComponent(record.reference)}`, { method: 'PUT', csrf: ctx.me.csrf_token, body });
      Object.assign(record, saved);
      say(ctx.message, `Fiche de la ${saved.name} enregistrée.`);
    } catch (p) { say(ctx.message, problemText(p), true); }
  });
  return form;
}

// One enrolment row: service and site, units (none ticked: all), from, to.
function enrolmentRow(e, ctx, childName) {
  const choices = ctx.config.activities.flatMap((a) => a.sites.map((s) => ({ value: `${a.id}@${s}`, activity: a, site: s })));
  const siteName = (id) => ctx.config.sites.find((s) => s.id === id)?.name ?? id;
  const selectId = uid('service');
  const select = el('select', { id: selectId }, ...choices.map((c) => el('option', { value: c.value, selected: e && c.value === `${e.activity}@${e.site}` }, `${c.activity.name} – ${siteName(c.site)}`)));
  const unitsBox = el('fieldset', { class: 'marques' });
  const drawUnits = (ticked) => {
    const [activityId] = select.value.split('@');
    const activity = ctx.config.activities.find((a) => a.id === activityId);
    unitsBox.replaceChildren(el('legend', {}, 'Prestations (aucune cochée : toutes)'),
      ...activity.units.map((u) => el('label', { class: 'en-ligne' }, el('input', { type: 'checkbox', value: u.id, checked: ticked.includes(u.id) }), ` ${u.name}`)));
  };
  drawUnits(e?.units ?? []);
  select.addEventListener('change', () => drawUnits([]));
  const from = field('Du', { type: 'date', value: e?.from ?? '', required: true });
  const to = field('Au', { type: 'date', value: e?.to ?? '', required: true });
  const remove = el('button', { type: 'button', class: 'secondaire' }, 'Retirer', el('span', { class: 'visually-hidden' }, ` cette inscription de ${childName}`));
  const row = el('fieldset', { class: 'inscription' }, el('legend', {}, 'Inscription'),
    el('label', { for: selectId }, 'Service et site'), select, unitsBox, ...from, ...to, remove);
  remove.addEventListener('click', () => row.remove());
  row.value = () => {
    const [activity, site] = select.value.split('@');
    const units = [...unitsBox.querySelectorAll('input:checked')].map((i) => i.value);
    return { activity, site, units, from: from[1].value, to: to[1].value };
  };
  return row;
}

function childForm(record, ctx) {
  const title = `${record.first_name} ${record.last_name}`;
  const first = field('Prénom', { name: 'first_name', value: record.first_name, required: true, maxlength: 200 });
  const last = field('Nom', { name: 'last_name', value: record.last_name, required: true, maxlength: 200 });
  const birth = field('Date de naissance', { name: 'birth_date', type: 'date', value: record.birth_date, required: true });
  const school = field('École', { name: 'school', value: record.school ?? '', maxlength: 100 });
  const klass = field('Classe', { name: 'class', value: record.class ?? '', maxlength: 100 });
  const notes = field('Santé et régime (allergies, PAI, régime alimentaire)', { name: 'health_notes', rows: 3, value: record.health_notes ?? '', maxlength: 1000 });
  // The meal served at the canteen and the PAI: the kitchen counts them.
  const dietId = uid('champ');
  const diet = [el('label', { for: dietId }, 'Repas à la cantine'),
    el('select', { id: dietId, name: 'diet' }, ...[['standard', 'Standard'], ['sans_porc', 'Sans porc'], ['vegetarien', 'Végétarien']]
      .map(([v, l]) => el('option', { value: v, selected: (record.diet || 'standard') === v }, l)))];
  const pai = el('label', { class: 'en-ligne' }, el('input', { type: 'checkbox', name: 'pai', checked: Boolean(record.pai) }), " Projet d'accueil individualisé (PAI)");
  const rows = el('div', {}, ...record.enrolments.map((e) => enrolmentRow(e, ctx, title)));
  const add = el('button', { type: 'button', class: 'secondaire' }, 'Ajouter une inscription', el('span', { class: 'visually-hidden' }, ` pour ${title}`));
  add.addEventListener('click', () => rows.append(enrolmentRow(null, ctx, title)));
  const form = el('form', { class: 'fiche', novalidate: true },
    el('h4', {}, title), ...first, ...last, ...birth, ...school, ...klass, ...notes, ...diet, pai,
    el('h5', {}, 'Inscriptions'), rows, add,
    el('button', { type: 'submit' }, 'Enregistrer', el('span', { class: 'visually-hidden' }, ` la fiche de ${title}`)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = {
      etag: record.etag,
      first_name: data.get('first_name'),
      last_name: data.get('last_name'),
      birth_date: data.get('birth_date'),
      school: data.get('school') || null,
      class: data.get('class') || null,
      health_notes: data.get('health_notes') || null,
      diet: data.get('diet'),
      pai: data.get('pai') === 'on',
      enrolments: [...rows.children].map((r) => r.value()),
    };
    try {
      const saved = await api(`/staff/children/${encodeURIComponent(record.id)}`, { method: 'PUT', csrf: ctx.me.csrf_token, body });
      Object.assign(record, saved);
      say(ctx.message, `Fiche de ${saved.first_name} ${saved.last_name} enregistrée.`);
    } catch (p) { say(ctx.message, problemText(p), true); }
  });
  return form;
}

// A family that left: what its erasure will do (the dry run), and, for the administrator,
// closing its file (its bookings from today on are cancelled, its data erased later).
function leaving(reference, ctx) {
  const box = el('section', { class: 'fiche', 'aria-label': 'Départ de la famille' }, el('h4', {}, 'Départ de la famille'));
  const report = el('p', { class: 'aide', role: 'status' });
  const dry = el('button', { type: 'button', class: 'secondaire' }, "Voir ce que l'effacement supprimera");
  dry.addEventListener('click', async () => {
    try {
      const e = await api(`/staff/families/${encodeURIComponent(reference)}/erasure`);
      const n = (k, one, many) => `${k} ${k > 1 ? many : one}`;
      report.textContent = `${e.erase_on ? `Effacement prévu le ${frenchDate(e.erase_on)}. ` : 'Dossier non clos\u202f: rien n’est prévu. '}`
        + `Seraient supprimés\u202f: ${n(e.accounts_deleted, 'compte', 'comptes')}, ${n(e.children_deleted, 'fiche d’enfant', 'fiches d’enfant')}, ${n(e.bookings_deleted, 'réservation', 'réservations')}, `
        + `${n(e.files.length, 'document', 'documents')}, ${n(e.records_deleted, 'autre enregistrement', 'autres enregistrements')}, ${n(e.emails_deleted, 'e-mail', 'e-mails')}. `
        + `Conservés dix ans, anonymisés\u202f: ${n(e.records_anonymised, 'pièce comptable', 'pièces comptables')}\u202f; ${n(e.entries_anonymised, 'entrée du journal anonymisée', 'entrées du journal anonymisées')}.`;
    } catch (p) { report.textContent = p.title; }
  });
  box.append(dry);
  if (ctx.me.role === 'town_admin') {
    const close = el('button', { type: 'button' }, 'Clore le dossier (famille partie)');
    close.addEventListener('click', async () => {
      const n2 = (k, one, many) => `${k} ${k > 1 ? many : one}`;
      try {
        const e = await api(`/staff/families/${encodeURIComponent(reference)}/erasure`);
        const sure = await confirmAct({
          title: 'Clore le dossier de cette famille\u202f?',
          consequences: [
            'Ses réservations à partir d’aujourd’hui sont annulées et ses comptes ne pourront plus se connecter.',
            `À l’échéance, seront effacés${'\u202f'}: ${n2(e.accounts_deleted, 'compte', 'comptes')}, ${n2(e.children_deleted, 'fiche d’enfant', 'fiches d’enfant')}, ${n2(e.bookings_deleted, 'réservation', 'réservations')}, ${n2(e.files.length, 'document', 'documents')}, ${n2(e.emails_deleted, 'e-mail', 'e-mails')}${'\u202f'}; les pièces comptables sont conservées dix ans, anonymisées.`,
          ],
          confirm: 'Clore le dossier',
        });
        if (!sure) return;
        const r = await api(`/staff/families/${encodeURIComponent(reference)}/close`, { method: 'POST', csrf: ctx.me.csrf_token });
        report.textContent = `Dossier clos le ${frenchDate(r.closing.closed_on)}${'\u202f'}: ${n2(r.cancelled, 'réservation à venir annulée', 'réservations à venir annulées')}. Les données seront effacées le ${frenchDate(r.closing.erase_on)}${'\u202f'}; les pièces comptables sont conservées dix ans, anonymisées.`;
      } catch (p) { report.textContent = p.title; }
    });
    box.append(' ', close);
  }
  box.append(report);
  return box;
}

// Shows the records of `reference` in `box`; ctx: { me, message, config }.
export async function showRecords(box, reference, ctx) {
  try {
    const { family, children } = await api(`/staff/families/${encodeURIComponent(reference)}`);
    box.replaceChildren(
      el('h3', { id: 'titre-fiche-famille', tabindex: '-1' }, `Fiche de la ${family.name} (${family.reference})`),
      el('p', { class: 'aide' }, "Les inscriptions doivent couvrir les réservations à venir : annulez celles-ci d'abord pour retirer une inscription."),
      familyForm(family, ctx), await mandateBlock(family.reference, ctx.me), await accountBlock(family.reference), ...children.map((c) => childForm(c, ctx)),
      await emailsBlock(family.reference, ctx), leaving(family.reference, ctx));
    document.getElementById('titre-fiche-famille').focus();
  } catch (p) { say(ctx.message, p.title, true); }
}
