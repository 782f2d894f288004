// creer-mon-espace.html: a new family asks for an account. Each field carries its API path
// (`data-path`); a refused field gets its message next to it and the focus. The proof of
// address is announced with the request, then sent straight to the storage and checked.
import { api, say, sayInView, onSubmit, linkTown, el, uid, fileType } from './portail.js';

linkTown();
const form = document.getElementById('demande');
const message = document.getElementById('message');
const children = document.getElementById('enfants');
const MAX_CHILDREN = 8;
const LEVELS = ['', 'PS', 'MS', 'GS', 'CP', 'CE1', 'CE2', 'CM1', 'CM2'];

function input(label, path, attrs = {}) {
  const id = uid('champ');
  return [el('label', { for: id }, label), el('input', { id, 'data-path': path, ...attrs })];
}

function addChild() {
  const i = children.children.length;
  const levelId = uid('champ');
  const level = el('select', { id: levelId, 'data-path': `children.${i}.level` },
    ...LEVELS.map((l) => el('option', { value: l }, l || 'Pas encore à l’école / autre')));
  children.append(el('fieldset', {}, el('legend', {}, `Enfant ${i + 1}`),
    ...input('Prénom', `children.${i}.first_name`, { maxlength: '100', required: true }),
    ...input('Nom', `children.${i}.last_name`, { maxlength: '100', required: true }),
    ...input('Date de naissance', `children.${i}.birth_date`, { type: 'date', required: true }),
    el('label', { for: levelId }, 'Niveau scolaire cette année'), level));
  document.getElementById('ajouter').hidden = children.children.length >= MAX_CHILDREN;
}

const value = (path) => form.querySelector(`[data-path="${path}"]`)?.value.trim() ?? '';

function body() {
  const guardian = (i) => ({
    first_name: value(`guardians.${i}.first_name`), last_name: value(`guardians.${i}.last_name`),
    email: value(`guardians.${i}.email`), phone: value(`guardians.${i}.phone`),
  });
  const second = guardian(1);
  const guardians = Object.values(second).some((v) => v) ? [guardian(0), second] : [guardian(0)];
  const kids = [...children.children].map((_, i) => ({
    first_name: value(`children.${i}.first_name`), last_name: value(`children.${i}.last_name`),
    birth_date: value(`children.${i}.birth_date`), level: value(`children.${i}.level`),
  }));
  const file = proofFile();
  return {
    guardians, children: kids,
    address: { street: value('address.street'), postcode: value('address.postcode'), city: value('address.city') },
    proof: file ? { file_name: file.name, content_type: fileType(file), size: file.size } : undefined,
    message: value('message'),
  };
}

const proofFile = () => document.getElementById('justificatif').files[0];

function clearErrors() {
  for (const e of form.querySelectorAll('.erreur-champ')) e.remove();
  for (const i of form.querySelectorAll('[aria-invalid]')) {
    i.removeAttribute('aria-invalid');
    if (i.dataset.aide) i.setAttribute('aria-describedby', i.dataset.aide); else i.removeAttribute('aria-describedby');
  }
}

/** The message next to the field it names, and the focus on that field. */
function showError(problem) {
  // The proof's parts (« proof.size »…) are one field on the page: the file.
  const path = problem.field?.startsWith('proof') ? 'proof' : problem.field;
  const target = path && form.querySelector(`[data-path="${CSS.escape(path)}"]`);
  if (!target) { say(message, problem.title, true); return; }
  const id = uid('erreur');
  // The title names the field by its API path (« guardians.0.phone : … »): next to the field, the rest is enough.
  const text = problem.field && problem.title.startsWith(problem.field) ? problem.title.slice(problem.field.length).replace(/^[\s\u202f]*:\s*/, '') : problem.title;
  target.after(el('p', { id, class: 'erreur-champ' }, text.charAt(0).toUpperCase() + text.slice(1)));
  target.setAttribute('aria-invalid', 'true');
  // The message is read with the field (before its help, if it has one).
  const help = target.getAttribute('aria-describedby');
  if (help) target.dataset.aide = help;
  target.setAttribute('aria-describedby', help ? `${id} ${help}` : id);
  target.focus();
  message.hidden = true;
}

document.getElementById('ajouter').addEventListener('click', () => {
  addChild();
  children.lastElementChild.querySelector('input').focus();
});
addChild();
/** Sends the proof of address with the answer's presigned request, then asks for its check;
 *  what to tell the family when that fails (the request itself is sent). */
async function sendProof(answer, file) {
  try {
    const sent = await fetch(answer.upload.url, { method: answer.upload.method, headers: answer.upload.headers, body: file });
    if (!sent.ok) throw new Error(`${sent.status}`);
  } catch {
    return 'Votre justificatif de domicile n’a pas pu être envoyé (connexion interrompue)\u202f: le service enfance vous le demandera par e-mail.';
  }
  try {
    await api(`/auth/account-request/${encodeURIComponent(answer.id)}/proof`, { method: 'POST' });
    return null;
  } catch (problem) {
    return `${problem.title} Le service enfance vous demandera le justificatif par e-mail.`;
  }
}

onSubmit(form, async () => {
  clearErrors();
  const file = proofFile();
  try {
    const answer = await api('/auth/account-request', { method: 'POST', body: body() });
    const proofFault = await sendProof(answer, file);
    form.hidden = true;
    sayInView(message, proofFault ? `${answer.message} ${proofFault}` : answer.message, Boolean(proofFault));
  } catch (problem) { showError(problem); }
});
