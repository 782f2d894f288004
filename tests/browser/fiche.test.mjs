// « Fiche enfant » in a browser, on a phone and a desktop: Sophie opens Léa's file (the demo's,
// validated, with a kiwi allergy), corrects the allergy, adds a pick-up person whose phone is
// refused and then accepted, and the file is saved as a new version for the service; axe-core
// finds nothing on each part. Run by scripts/test (EF_BIN, CHROMIUM).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

const VIEWPORTS = [
  { name: 'telephone', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  { name: 'ordinateur', viewport: { width: 1280, height: 800 } },
];

for (const device of VIEWPORTS) {
  test(`a guardian corrects her child's file one part at a time (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${portal.url}/connexion.html`);
      await page.getByLabel('Adresse e-mail').fill('sophie.martin@exemple.fr');
      await page.getByLabel('Mot de passe').fill('tilleuls-demo-2026');
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(/index\.html/);
      await page.goto(`${portal.url}/fiche.html?enfant=lea-martin`);
      await page.getByText('Version 1. Vérifiée par le service enfance.').waitFor();
      const allergy = page.getByLabel('Allergie à');
      assert.equal(await allergy.inputValue(), 'kiwi');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= device.viewport.width, `no horizontal scroll (${width} px)`);
      await checkAxe(page, 'santé');
      await allergy.fill('kiwi et mangue');

      await page.getByRole('button', { name: 'Suivant' }).click();
      await page.getByRole('heading', { name: 'Personnes' }).waitFor();
      await page.getByRole('button', { name: 'Ajouter (1/6)' }).click();
      const second = page.getByRole('group', { name: 'Personne autorisée à venir chercher l’enfant 2' });
      await second.getByLabel('Nom et prénom').fill('Paul Roux');
      await second.getByLabel('Lien avec l’enfant').fill('voisin');
      await second.getByLabel('Téléphone').fill('12 34');
      await checkAxe(page, 'personnes');
      await page.getByRole('button', { name: 'Enregistrer' }).click();
      await page.locator('#message').filter({ hasText: 'people.pickup[1].phone' }).waitFor();
      assert.equal(await second.getByLabel('Téléphone').evaluate((e) => e === document.activeElement), true, 'the field at fault has the focus');
      await second.getByLabel('Téléphone').fill('+33 7 11 22 33 44');
      await page.getByRole('button', { name: 'Enregistrer' }).click();
      await page.locator('#message').filter({ hasText: 'Fiche enregistrée' }).waitFor();
      await page.getByText('Version 2. À vérifier par le service enfance.').waitFor();
      assert.equal(await second.getByLabel('Téléphone').inputValue().catch(() => ''), '07 11 22 33 44');

      await page.getByRole('button', { name: '3. Autorisations' }).click();
      await page.getByRole('group', { name: /Sorties/ }).getByLabel('Oui').waitFor();
      await checkAxe(page, 'autorisations');
      await page.getByRole('button', { name: '4. Assurance' }).click();
      assert.equal(await page.getByLabel('Assureur').inputValue(), 'MAE');
      await checkAxe(page, 'assurance');

      // The agent reviews what changed since the last validation, and validates.
      const staff = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' });
      const agent = await staff.newPage();
      agent.on('pageerror', (e) => errors.push(e.message));
      await agent.goto(`${portal.url}/connexion.html`);
      await agent.getByLabel('Adresse e-mail').fill('agent@villeneuve-les-tilleuls.fr');
      await agent.getByLabel('Mot de passe').fill('tilleuls-demo-2026');
      await agent.getByRole('button', { name: 'Se connecter' }).click();
      await agent.waitForURL(/index\.html/);
      await agent.goto(`${portal.url}/mairie.html#fiches`);
      await agent.getByRole('button', { name: 'Examiner la fiche de Léa Martin' }).click();
      await agent.getByText('Léa Martin – 2 modifications depuis la version 1 validée').waitFor();
      await agent.getByText('health.allergies[0].name : kiwi → kiwi et mangue').waitFor();
      await checkAxe(agent, 'examen de la fiche');
      await agent.getByRole('button', { name: 'Valider la version 2' }).click();
      await agent.locator('#message').filter({ hasText: 'Fiche de Léa Martin validée.' }).waitFor();
      await agent.getByText('Aucune fiche à vérifier.').waitFor();
      // The kitchen's counts of the week name Léa with what to do.
      await agent.goto(`${portal.url}/mairie.html#cuisine`);
      await agent.getByLabel('Un jour de la semaine').fill('2026-11-30');
      await agent.getByRole('button', { name: 'Afficher les effectifs' }).click();
      await agent.getByRole('heading', { name: 'Allergies et PAI des enfants attendus' }).waitFor();
      await agent.locator('.allergies-jour li li').filter({ hasText: /^kiwi et mangue\s:/ }).first().waitFor();
      await checkAxe(agent, 'cuisine');
      await staff.close();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}
