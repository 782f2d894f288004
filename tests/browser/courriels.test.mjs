// Deliverability in the pages: an activation email marked bounced on /dev/mail shows in the
// agent's « Aujourd'hui » and on the family's record, where the agent resends the link; the
// guardian's « Mon compte » lists the emails sent to them. Each page passes axe.
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

test('a bounced activation shows to the agent, who resends it; a guardian lists her emails', async () => {
  const portal = await startPortal();
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const errors = [];
  try {
    const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    // /dev/mail: Linh Nguyen's activation email, marked bounced.
    await page.goto(`${portal.url}/dev/mail`);
    const row = page.locator('tr', { hasText: 'linh.nguyen@exemple.fr' }).filter({ hasText: 'Activez' }).first();
    await row.getByRole('button', { name: 'Rejeté (adresse invalide)' }).click();
    await page.waitForURL(`${portal.url}/dev/mail`);

    await logIn(page, portal.url, 'agent@villeneuve-les-tilleuls.fr', 'Karim Benali');
    await page.goto(`${portal.url}/mairie.html#aujourdhui`);
    const list = page.locator('#liste-adresses-invalides');
    await list.getByText('linh.nguyen@exemple.fr').waitFor();
    assert.match(await list.textContent(), /Adresse e-mail invalide \(rejetée le 26\/11\/2026\)/);
    await axe(page, 'Aujourd’hui');
    await list.getByRole('button', { name: 'Ouvrir la fiche de la famille nguyen' }).click();
    const record = page.locator('section[aria-label="E-mails envoyés"]');
    await record.getByText('rejeté').first().waitFor();
    await record.getByRole('button', { name: "Renvoyer le lien d'activation à linh.nguyen@exemple.fr" }).click();
    await page.getByText("Un nouveau lien d'activation part à linh.nguyen@exemple.fr.").waitFor();
    await axe(page, 'fiche famille');

    await page.context().clearCookies();
    await logIn(page, portal.url, 'sophie.martin@exemple.fr', 'Sophie Martin');
    await page.goto(`${portal.url}/index.html`);
    const mine = page.locator('#mes-emails');
    await mine.getByText('E-mails reçus').waitFor();
    await axe(page, 'Mon compte');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await portal.stop();
  }
});
