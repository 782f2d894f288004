// « Créer mon espace famille » in a browser, on a phone and a desktop: from the sign-in page, a
// new family fills the request; a phone number that is not French is refused next to its field,
// which takes the focus; the request is sent; the agent accepts it in « Demandes de compte »;
// the activation email is in the dev mailbox. axe-core finds nothing on each page.
// Run by scripts/test (EF_BIN, CHROMIUM).
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
  test(`a new family asks for an account and the agent accepts it (${device.name})`, async () => {
    const portal = await startPortal();
    const options = { viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' };
    const context = await browser.newContext(options);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const email = `famille.${device.name}@exemple.fr`;
    try {
      await page.goto(`${portal.url}/connexion.html`);
      await page.getByRole('link', { name: 'Créer mon espace famille' }).click();
      await page.getByRole('heading', { name: 'Créer mon espace famille' }).waitFor();
      const first = page.getByRole('group', { name: 'Responsable légal' });
      await first.getByLabel('Prénom').fill('Nadia');
      await first.getByLabel('Nom', { exact: true }).fill('Benali');
      await first.getByLabel('Adresse e-mail').fill(email);
      await first.getByLabel('Téléphone').fill('12 34');
      const child = page.getByRole('group', { name: 'Enfant 1' });
      await child.getByLabel('Prénom').fill('Inès');
      await child.getByLabel('Nom', { exact: true }).fill('Benali');
      await child.getByLabel('Date de naissance').fill('2019-04-02');
      await child.getByLabel('Niveau scolaire cette année').selectOption('CE1');
      await page.getByLabel('Numéro et rue').fill('12 rue des Écoles');
      await page.getByLabel('Code postal').fill('59000');
      await page.getByLabel('Commune').fill('Villeneuve-les-Tilleuls');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= device.viewport.width, `no horizontal scroll (${width} px)`);
      await checkAxe(page, 'demande');
      await page.getByRole('button', { name: 'Envoyer ma demande' }).click();
      await page.locator('.erreur-champ').filter({ hasText: 'numéro de téléphone français' }).waitFor();
      assert.equal(await first.getByLabel('Téléphone').evaluate((e) => e === document.activeElement), true, 'the field at fault has the focus');
      await checkAxe(page, 'demande refusée');
      await first.getByLabel('Téléphone').fill('06 12 34 56 78');
      // Without the proof of address, the request is refused next to the file's field.
      await page.getByRole('button', { name: 'Envoyer ma demande' }).click();
      await page.locator('.erreur-champ').filter({ hasText: 'Valeur obligatoire' }).waitFor();
      const proof = page.getByLabel('Justificatif de domicile de moins de 3 mois');
      assert.equal(await proof.evaluate((e) => e === document.activeElement), true, 'the file field has the focus');
      await proof.setInputFiles({ name: 'Facture EDF.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\nFacture EDF, 12 rue des Ecoles\n%%EOF\n') });
      await page.getByRole('button', { name: 'Envoyer ma demande' }).click();
      const told = page.locator('#message').filter({ hasText: 'Votre demande a bien été envoyée' });
      await told.waitFor();
      assert.doesNotMatch(await told.textContent(), /justificatif/, 'the proof was received and checked');

      const staff = await browser.newContext(options);
      const agent = await staff.newPage();
      agent.on('pageerror', (e) => errors.push(e.message));
      await agent.goto(`${portal.url}/connexion.html`);
      await agent.getByLabel('Adresse e-mail').fill('agent@villeneuve-les-tilleuls.fr');
      await agent.getByLabel('Mot de passe').fill('tilleuls-demo-2026');
      await agent.getByRole('button', { name: 'Se connecter' }).click();
      await agent.waitForURL(/index\.html/);
      await agent.goto(`${portal.url}/mairie.html#demandes-compte`);
      await agent.getByRole('heading', { name: 'Demandes de compte' }).waitFor();
      await checkAxe(agent, 'demandes de compte');
      // The agent opens the proof of address before deciding.
      const [file] = await Promise.all([
        agent.waitForEvent('download'),
        agent.getByRole('button', { name: 'Voir le justificatif de domicile de Nadia Benali' }).click(),
      ]);
      assert.equal(file.suggestedFilename(), 'Facture EDF.pdf');
      await agent.getByRole('button', { name: 'Accepter la demande de Nadia Benali' }).click();
      await agent.locator('#message').filter({ hasText: 'La famille est créée' }).waitFor();
      await agent.getByText('Aucune demande de compte en attente.').waitFor();

      // The activation email, as for an imported family (the notifier sends every second).
      const mail = agent.getByRole('link', { name: /Activez votre Espace Famille/ }).first();
      for (let i = 0; i < 120; i += 1) {
        await agent.goto(`${portal.url}/dev/mail`);
        if (await agent.getByText(email).count()) break;
        await agent.waitForTimeout(250);
      }
      assert.ok(await mail.count(), 'the activation email is in the dev mailbox');
      await staff.close();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}
