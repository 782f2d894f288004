// The CAF in the pages (issue 28, parts 3 and 4): Thomas Petit gives his consent to fetching
// his QF from the CAF in « Mon compte »; the administrator shows the year's « Heures CAF »
// (the demo's canteen hours, the CSV link) and fetches the Petits' QF from API Particulier's
// local twin in « Familles ». Each page passes axe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe as axe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';

async function logIn(page, url, email, name) {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText(`Connecté(e) : ${name}`).waitFor();
}

test('Thomas consents and asks for his QF, the administrator reads the CAF hours and fetches the Petits’ QF', async () => {
  const portal = await startPortal();
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const errors = [];
  try {
    const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await logIn(page, portal.url, 'thomas.petit@exemple.fr', 'Thomas Petit');
    const box = page.locator('#qf-caf');
    await box.getByLabel('Nom de naissance').fill('Petit');
    await box.getByLabel('Prénoms (dans l’ordre de l’état civil)').fill('Thomas Louis');
    await box.getByLabel('Sexe').selectOption('M');
    await box.getByLabel('Date de naissance').fill('1985-04-12');
    await box.getByLabel('Commune de naissance (code INSEE, si né en France)').fill('95500');
    await box.getByRole('button', { name: 'Donner mon accord' }).click();
    await page.getByText('Votre accord est enregistré.').waitFor();
    await box.getByRole('button', { name: 'Retirer l’accord' }).waitFor();
    await axe(page, 'Mon compte');
    // He asks the CAF himself: the quotient comes back and says where it comes from.
    await box.getByRole('button', { name: 'Demander mon quotient à la CAF' }).click();
    await page.getByText('Quotient familial obtenu de la CAF\u202f: 480.', { exact: false }).waitFor();
    assert.match(await box.textContent(), /Quotient familial\u202f: 480 \(transmis par la CAF, CNAF/);

    await page.context().clearCookies();
    await logIn(page, portal.url, 'mairie@villeneuve-les-tilleuls.fr', 'Nadia Roux');
    await page.goto(`${portal.url}/mairie.html`);
    await page.getByRole('link', { name: 'Facturation' }).click();
    await page.locator('#annee-caf').fill('2026');
    await page.getByRole('button', { name: 'Afficher les heures' }).click();
    const table = page.locator('#tableau-caf');
    await table.getByRole('row', { name: /Cantine/ }).waitFor();
    assert.match(await table.getByRole('row', { name: /Cantine/ }).textContent(), /16,00\u202fh \(2 enf\.\)/, 'eight lunch breaks of 2 h');
    assert.equal(await table.getByRole('link').getAttribute('href'), '/api/towns/villeneuve-les-tilleuls/staff/caf-hours?year=2026&format=csv');
    await axe(page, 'Heures CAF');

    await page.getByRole('link', { name: 'Familles' }).click();
    await page.getByLabel('Référence de la famille').fill('petit');
    await page.getByRole('button', { name: 'Afficher', exact: true }).click();
    await page.getByRole('button', { name: 'Interroger la CAF' }).click();
    await page.getByText('Quotient familial obtenu\u202f: 480.').waitFor();
    assert.match(await page.locator('#panneau-quotient').textContent(), /Quotient familial\u202f: 480 \(transmis par la CAF, CNAF, mois 2026-11/);
    await axe(page, 'Familles');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await portal.stop();
  }
});
