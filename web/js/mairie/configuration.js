// « Configuration » (administrator): the town's configuration through the forms of
// configuration.js, or whole as JSON; saved with the version read.
import { api, say, problemText } from '../portail.js';
import { showForms } from '../configuration.js';
import { count, NNBSP } from './commun.js';

/** Wires « Enregistrer la configuration » and fills the forms and the JSON. */
export async function startConfig(ctx) {
  document.getElementById('form-configuration').addEventListener('submit', (event) => saveConfig(ctx, event));
  await loadConfig(ctx);
}

let configVersion = null;
async function loadConfig(ctx) {
  const { me, message } = ctx;
  const view = await api('/staff/config');
  configVersion = view.version;
  document.getElementById('config-json').value = JSON.stringify(view.config, null, 2);
  const impact = (closures) => api('/staff/closures/impact', { method: 'POST', csrf: me.csrf_token, body: { closures } });
  showForms(document.getElementById('formulaires-configuration'), view, { message, save: (config, done) => putConfig(ctx, config, done), impact });
}

// Saves a whole configuration with the version read; reloads the forms and the JSON after.
async function putConfig(ctx, config, done) {
  const { me, message } = ctx;
  try {
    const saved = await api('/staff/config', { method: 'PUT', csrf: me.csrf_token, body: { version: configVersion, config } });
    configVersion = saved.version ?? configVersion;
    await loadConfig(ctx);
    const closed = saved.closed && saved.closed.cancelled
      ? ` ${count(saved.closed.cancelled, 'réservation annulée', 'réservations annulées')} par la fermeture${NNBSP}; ${count(saved.closed.families, 'famille prévenue', 'familles prévenues')} par e-mail.` : '';
    say(message, done + closed);
  } catch (p) { say(message, problemText(p), true); }
}

async function saveConfig(ctx, event) {
  const { message } = ctx;
  event.preventDefault();
  let config;
  try { config = JSON.parse(document.getElementById('config-json').value); } catch {
    say(message, `La configuration n’est pas un JSON valide${NNBSP}: vérifiez les guillemets et les virgules.`, true);
    return;
  }
  await putConfig(ctx, config, `Configuration enregistrée${NNBSP}: elle vaut pour les réservations à venir.`);
}
