// Lighthouse (npm `lighthouse`, its default mobile preset: a mid-range phone on a slow 4G
// network, simulated) on the pages parents and agents open most: the home page and « Connexion »
// logged out, « Mes réservations » and « Mon panier » as Sophie Martin, « Espace mairie » as the
// town's agent. Accessibility, best practices and SEO must score 95 or more, performance (the
// median of three runs) 90 or more (see MINIMUM); the scores are printed (docs/web.md records
// them). Debian's Chromium, driven through its
// DevTools port; the login is done in the same browser profile, so Lighthouse's tab has the
// session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import lighthouse from 'lighthouse';
import { startPortal } from './portal.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
// Accessibility, best practices and SEO do not depend on the machine: 95. The performance score
// does (Lighthouse simulates a slow phone by multiplying the main thread's work as this machine
// measured it), so it is the median of three runs, held to 90 here; on an idle machine the pages
// score 96–100 (docs/web.md).
const MINIMUM = { performance: 0.9, accessibility: 0.95, 'best-practices': 0.95, seo: 0.95 };
const RUNS = 3;

/** A free loopback port for Chromium's DevTools. */
const freePort = () => new Promise((resolve, reject) => {
  const server = createServer();
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

let portal;
let context;
let profile;
let port;
before(async () => {
  portal = await startPortal();
  port = await freePort();
  profile = mkdtempSync(join(tmpdir(), 'ef-lighthouse-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--remote-debugging-port=${port}`],
  });
});
after(async () => {
  await context?.close();
  await portal?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
});

async function logIn(email, name) {
  const page = await context.newPage();
  await page.goto(`${portal.url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText(`Connecté(e) : ${name}`).waitFor();
  return page;
}

async function logOut(page) {
  await page.goto(`${portal.url}/index.html`);
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.getByRole('link', { name: 'Se connecter' }).waitFor();
  await page.close();
}

const scores = [];
const failures = [];

/** Lighthouse on `path`; every category at MINIMUM or more, else the failing audits are named. */
async function audit(name, path) {
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) {
    const { lhr } = await lighthouse(`${portal.url}/${path}`, {
      port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES,
      // The login's cookies stay (only the cache is emptied before the run).
      disableStorageReset: true,
    });
    runs.push(lhr);
  }
  // The run of median performance (the other categories are the same in every run).
  runs.sort((a, b) => (a.categories.performance.score ?? 0) - (b.categories.performance.score ?? 0));
  const lhr = runs[Math.floor(RUNS / 2)];
  if (lhr.runtimeError) failures.push(`${name}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  const row = Object.fromEntries(CATEGORIES.map((c) => [c, Math.round((lhr.categories[c].score ?? 0) * 100)]));
  const ms = (id) => `${((lhr.audits[id]?.numericValue ?? NaN) / 1000).toFixed(1)} s`;
  scores.push({
    name, ...row, cls: lhr.audits['cumulative-layout-shift']?.numericValue?.toFixed(3) ?? '?',
    fcp: ms('first-contentful-paint'), lcp: ms('largest-contentful-paint'), tbt: `${Math.round(lhr.audits['total-blocking-time']?.numericValue ?? NaN)} ms`,
  });
  for (const c of CATEGORIES) {
    const failing = lhr.categories[c].auditRefs
      .map((r) => lhr.audits[r.id])
      .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'manual')
      .map((a) => `${a.id} (${a.displayValue || a.score})`);
    if ((lhr.categories[c].score ?? 0) < MINIMUM[c]) failures.push(`${name}: ${c} ${row[c]} < ${MINIMUM[c] * 100}; ${failing.join(', ')}`);
  }
}

// By hand on an idle machine (`EF_LIGHTHOUSE_ALL=1`, about ten minutes): every page of web/,
// logged out, as Sophie Martin or as the agent, its table printed for docs/web.md; issue 31 asks
// performance 95 or more and a layout shift of 0.05 or less on each.
test('Lighthouse, mobile, on every page (EF_LIGHTHOUSE_ALL)', { skip: !process.env.EF_LIGHTHOUSE_ALL }, async () => {
  const before = scores.length;
  for (const [name, path] of [['Accueil', 'index.html'], ['Connexion', 'connexion.html'], ['Activation', 'activation.html'],
    ['Mot de passe oublié', 'mot-de-passe.html'], ['Créer mon espace famille', 'creer-mon-espace.html'],
    ['Désabonnement', 'desabonnement.html'], ['Contact', 'contact.html'], ['Mentions légales', 'mentions-legales.html'], ['CGU', 'cgu.html']]) {
    await audit(name, path);
  }
  const parent = await logIn('sophie.martin@exemple.fr', 'Sophie Martin');
  for (const [name, path] of [['Mes réservations', 'reservations.html'], ['Mon panier', 'panier.html'], ['Mon enfant est malade', 'malade.html'],
    ['Mes demandes', 'demandes.html'], ['Mes factures', 'factures.html'], ['Fiche enfant', 'fiche.html?enfant=lea-martin'], ['Inscriptions', 'inscriptions.html']]) {
    await audit(name, path);
  }
  await logOut(parent);
  const agent = await logIn('agent@villeneuve-les-tilleuls.fr', 'Karim Benali');
  await audit('Espace mairie', 'mairie.html');
  await logOut(agent);
  console.log('| page | performance | accessibility | best practices | SEO | FCP | LCP | TBT | layout shift |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const s of scores.slice(before)) console.log(`| ${s.name} | ${s.performance} | ${s.accessibility} | ${s['best-practices']} | ${s.seo} | ${s.fcp} | ${s.lcp} | ${s.tbt} | ${s.cls} |`);
});

test('Lighthouse, mobile: accessibility, best practices and SEO 95 or more, performance 90 or more, on the main pages', { skip: Boolean(process.env.EF_LIGHTHOUSE_ALL) }, async () => {
  await audit('Accueil', 'index.html');
  await audit('Connexion', 'connexion.html');
  const parent = await logIn('sophie.martin@exemple.fr', 'Sophie Martin');
  await audit('Mes réservations', 'reservations.html');
  await audit('Mon panier', 'panier.html');
  await logOut(parent);
  const agent = await logIn('agent@villeneuve-les-tilleuls.fr', 'Karim Benali');
  await audit('Espace mairie', 'mairie.html');
  await logOut(agent);
  console.log('| page | performance | accessibility | best practices | SEO | FCP | LCP | TBT | layout shift |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const s of scores) console.log(`| ${s.name} | ${s.performance} | ${s.accessibility} | ${s['best-practices']} | ${s.seo} | ${s.fcp} | ${s.lcp} | ${s.tbt} | ${s.cls} |`);
  assert.deepEqual(failures, []);
});
