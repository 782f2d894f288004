// « Espace mairie »: the staff's tabs, one module each under mairie/ (news, requests, documents, account requests,
// attendance, late changes, kitchen, families, children's files, contests, billing, configuration, journal; the
// unpaid invoices and régularisations are encaissements.js and regularisations.js). This entry
// opens the session, switches tabs and starts each tab with the same context: `{ me, message,
// config, units }`. Staff only: the API refuses anyone else.
import { api, say, linkTown, session } from './portail.js';
import { loadUnpaid, loadAnomalies } from './encaissements.js';
import { loadRegularisations } from './regularisations.js';
import { startNews, loadNews } from './mairie/actualites.js';
import { startQueue, loadQueue } from './mairie/demandes.js';
import { loadDocuments } from './mairie/documents.js';
import { loadAccountRequests } from './mairie/comptes.js';
import { loadUndeliverable } from './courriels.js';
import { showRecords } from './fiche-famille.js';
import { startAttendance, showAttendance } from './mairie/presences.js';
import { startLateChange } from './mairie/hors-delai.js';
import { startKitchen } from './mairie/cuisine.js';
import { startFamilies } from './mairie/familles.js';
import { loadContests } from './mairie/contestations.js';
import { loadFiles } from './mairie/fiches.js';
import { startBilling, loadRuns } from './mairie/facturation.js';
import { startConfig } from './mairie/configuration.js';
import { startCafHours } from './mairie/heures-caf.js';
import { startQuotient } from './mairie/quotient-caf.js';
import { loadJournal } from './mairie/journal.js';
import { startEnrolments } from './mairie/inscriptions.js';

linkTown();
const main = document.getElementById('contenu');
const message = document.getElementById('message');
const me = await session(main);

/** « Espace mairie » in tabs, one tap each: the address's fragment names a tab (`#cuisine`) or a
 * section in one (`#pointage`); the page opens on today's work (requests, documents,
 * attendance). */
function showTab() {
  const wanted = location.hash.slice(1);
  const sections = [...document.querySelectorAll('section[data-onglet]')];
  const tab = sections.some((x) => x.dataset.onglet === wanted) ? wanted
    : sections.find((x) => x.id === wanted)?.dataset.onglet || 'aujourdhui';
  for (const x of sections) x.classList.toggle('onglet-cache', x.dataset.onglet !== tab);
  for (const a of document.querySelectorAll('#onglets a')) {
    if (a.getAttribute('href') === `#${tab}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const target = document.getElementById(wanted);
  if (target && !target.classList.contains('onglet-cache')) target.scrollIntoView();
  else window.scrollTo(0, 0);
}
window.addEventListener('hashchange', showTab);
showTab();

if (me) {
  if (me.role !== 'agent' && me.role !== 'town_admin') {
    say(message, "Cet espace est réservé au personnel de la mairie.", true);
  } else {
    const { config } = await api('/staff/config');
    const units = config.activities.flatMap((a) => a.units.map((u) => ({ id: u.id, name: `${u.name} (${a.name})` })));
    const ctx = { me, message, config, units };
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
    startAttendance(ctx, today);
    startLateChange(ctx);
    startKitchen(ctx, today);
    startNews(ctx);
    startFamilies(ctx);
    startQuotient(ctx);
    startEnrolments(ctx);
    startQueue(ctx);
    if (me.role === 'town_admin') {
      document.getElementById('configuration').hidden = false;
      document.getElementById('journal').hidden = false;
      startBilling(ctx, today);
      startCafHours(ctx, today);
    }
    // Today's work first (requests, documents, attendance): the page shows once it is in, so
    // that nothing moves while the agent reads; the other tabs fill in meanwhile, hidden.
    const others = Promise.all([loadNews(ctx), loadContests(ctx), loadFiles(ctx), loadRegularisations(me), loadUnpaid(me), me.role === 'town_admin' ? loadAdmin(ctx) : null]);
    await Promise.all([loadQueue(ctx), loadDocuments(ctx), loadAccountRequests(ctx), loadUndeliverable((f) => { location.hash = '#familles'; showRecords(document.getElementById('fiche-famille'), f, ctx); }), showAttendance(ctx)]).catch((p) => say(message, p.title, true));
    document.getElementById('page').hidden = false;
    showTab();
    await others.catch((p) => say(message, p.title, true));
  }
}

/** The administrator's tabs: billing runs, journal, PayFiP anomalies, configuration; their
 * links appear once they are filled. */
async function loadAdmin(ctx) {
  await loadRuns(ctx);
  await loadJournal(ctx);
  await loadAnomalies();
  await startConfig(ctx);
  document.querySelectorAll('nav [data-admin]').forEach((a) => { a.hidden = false; });
}
