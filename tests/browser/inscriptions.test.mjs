// The yearly enrolment in the browser, at a phone's size and a desktop's, axe-core on each step:
// the administrator opens a campaign (through the API: the portal's clock is frozen on
// 26 November 2026, so the campaign is the current year's, open until 31 December); Sophie sees
// « Inscriptions 2026-2027 : à compléter » on the home page, confirms her children and their
// activities, accepts the rules, sends; the agent finds her children on the « Inscriptions » tab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';
const TOWN = 'villeneuve-les-tilleuls';
const CAMPAIGN = {
  opens_on: '2026-11-01', closes_on: '2026-12-31',
  offers: [{ activity: 'restauration', requires: [{ type: 'document', kind: 'assurance' }] }, { activity: 'alsh', requires: [] }],
  rules_version: '2026-v2', file_required: true, reminders: [], rollover_on: '2026-08-31',
};

let browser;
before(async () => {
  assert.ok(process.env.EF_BIN, 'EF_BIN names the espace-famille-local binary (scripts/test sets it)');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

/** Opens the campaign as the administrator, through the API. */
async function openCampaign(url) {
  const login = await fetch(`${url}/api/towns/${TOWN}/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `mairie@${TOWN}.fr`, password: PASSWORD }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await login.json();
  const put = await fetch(`${url}/api/towns/${TOWN}/staff/school-years/2026-2027/campaign`, {
    method: 'PUT', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(CAMPAIGN),
  });
  assert.equal(put.status, 200, await put.text());
}

async function logIn(page, url, email) {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText(/Connecté\(e\)/).waitFor();
}

const VIEWPORTS = [
  { name: 'telephone', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  { name: 'ordinateur', viewport: { width: 1280, height: 800 } },
];

for (const device of VIEWPORTS) {
  test(`a guardian re-enrols her children step by step, staff see it on the dashboard (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await openCampaign(portal.url);
      await logIn(page, portal.url, 'sophie.martin@exemple.fr');
      const banner = page.getByRole('link', { name: 'Inscriptions 2026-2027\u202f: à compléter' });
      await banner.waitFor();
      await banner.click();
      await page.getByRole('heading', { name: '1. Mes enfants et leurs activités' }).waitFor();
      await checkAxe(page, 'inscriptions: enfants');
      // Each child's file is one tap away, on its own page, that child chosen.
      await page.getByRole('link', { name: 'Vérifier ou compléter la fiche de Léa' }).click();
      await page.getByRole('heading', { name: 'Fiche enfant' }).waitFor();
      await page.waitForFunction(() => document.getElementById('enfant')?.value === 'lea-martin');
      await page.goBack();
      await page.getByRole('heading', { name: '1. Mes enfants et leurs activités' }).waitFor();
      for (const child of ['lea-martin', 'hugo-martin', 'jade-martin']) {
        await page.locator(`#confirme-${child}`).check();
      }
      await page.locator('#activite-hugo-martin-restauration').check();
      await page.locator('#activite-lea-martin-alsh').check();
      await page.getByRole('button', { name: 'Enregistrer et continuer' }).first().click();
      await page.getByRole('heading', { name: '2. Le règlement intérieur' }).waitFor();
      await checkAxe(page, 'inscriptions: règlement');
      // Resumed where it stopped.
      await page.reload();
      await page.getByRole('heading', { name: '2. Le règlement intérieur' }).waitFor();
      await page.getByLabel(/J’ai lu et j’accepte le règlement intérieur \(version 2026-v2\)/).check();
      await page.locator('#form-reglement').getByRole('button', { name: 'Enregistrer et continuer' }).click();
      await page.getByRole('heading', { name: '3. Documents et envoi' }).waitFor();
      await page.getByText('Hugo : attestation d’assurance manquante').waitFor();
      await checkAxe(page, 'inscriptions: envoi');
      await page.getByRole('button', { name: 'Envoyer mon inscription' }).click();
      await page.getByRole('heading', { name: 'Inscription envoyée' }).waitFor();
      await page.getByText(/Hugo\s: en attente d’un document/).waitFor();
      await checkAxe(page, 'inscriptions: envoyée');
      await page.goto(`${portal.url}/index.html`);
      await page.getByRole('link', { name: 'Inscriptions 2026-2027\u202f: envoyé' }).waitFor();

      // The agent's dashboard.
      await context.clearCookies();
      await logIn(page, portal.url, `agent@${TOWN}.fr`);
      await page.goto(`${portal.url}/mairie.html#inscriptions`);
      await page.getByRole('textbox', { name: 'Année scolaire', exact: true }).fill('2026-2027');
      await page.getByRole('combobox', { name: 'Statut', exact: true }).selectOption('waiting_for_document');
      await page.getByRole('button', { name: 'Afficher' }).click();
      await page.getByRole('cell', { name: 'Hugo Martin' }).waitFor();
      await checkAxe(page, 'mairie: inscriptions');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}
