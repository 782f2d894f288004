// French typography on the parents' pages (issue 31): every parent page's visible text (and its
// screen-reader text), in the states this test reaches, is scanned for the forbidden forms: a
// « (s) » plural, a plain space or no space before « ; : ! ? » (the narrow no-break space
// U+202F is the rule), guillemets without it, the straight apostrophe, and times written
// « HH:MM » (« 8 h 30 » is the rule). « Espace mairie » is scanned too and its findings printed,
// not held: its pages have their own owner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

const FORBIDDEN = [
  ['« (s) »', /\(s\)/g],
  ['no U+202F before ; : ! ?', /(?<!\u202f)[;:!?](?=[\s)]|$)/g],
  ['guillemets without U+202F', /«(?!\u202f)|(?<!\u202f)»/g],
  ['straight apostrophe', /'/g],
  ['time « HH:MM »', /\b\d{1,2}:\d{2}\b/g],
  ['time « 23h59 »', /\b\d{1,2}h\d{2}\b/g],
];

/** The forbidden forms in the page's text as it is now, each with a little context. */
async function scan(page) {
  const text = await page.evaluate(() => document.body.innerText);
  const found = [];
  for (const [what, re] of FORBIDDEN) {
    for (const m of text.matchAll(re)) found.push(`${what}: « ${text.slice(Math.max(0, m.index - 30), m.index + 10).replace(/\s+/g, ' ')} »`);
  }
  return found;
}

test('every parent page writes French typography (telephone)', async () => {
  const portal = await startPortal();
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'fr-FR' });
  const page = await context.newPage();
  const go = (path) => page.goto(`${portal.url}/${path}`);
  const findings = [];
  const check = async (name) => { for (const f of await scan(page)) findings.push(`${name} – ${f}`); };
  try {
    for (const path of ['index.html', 'connexion.html', 'activation.html', 'mot-de-passe.html', 'creer-mon-espace.html', 'contact.html', 'mentions-legales.html', 'cgu.html', 'malade.html']) {
      await go(path);
      await page.locator('main').waitFor();
      await page.waitForLoadState('networkidle');
      await check(`${path}, déconnecté`);
    }
    await go('connexion.html');
    await page.getByLabel('Adresse e-mail').fill('sophie.martin@exemple.fr');
    await page.getByLabel('Mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByText(/Sophie Martin/).first().waitFor();
    await page.waitForLoadState('networkidle');
    await check('index.html');

    // « Mes réservations »: the grid, a cell's details, a day in the basket, the period's preview.
    await go('reservations.html?semaine=2026-11-30');
    await page.locator('table.grille-semaine').first().waitFor();
    await check('reservations.html');
    await page.getByRole('button', { name: /détails de Cantine, lundi 30\/11\/2026/ }).click();
    await page.locator('#detail-cellule h3').waitFor();
    await page.waitForLoadState('networkidle');
    await check('reservations.html, détails');
    await page.getByRole('button', { name: 'Suivant' }).click();
    await page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ }).check();
    await page.locator('#message-grille').filter({ hasText: 'ajoutée au panier' }).waitFor();
    await check('reservations.html, une case cochée');
    await page.getByRole('button', { name: 'Période', exact: true }).click();
    await page.locator('#periode').getByLabel('Cantine').check();
    await page.locator('#periode').getByLabel('Mardi', { exact: true }).check();
    await page.getByRole('button', { name: /fin de l.année scolaire/ }).click();
    await page.locator('#message-periode').filter({ hasText: /veille/ }).waitFor();
    await page.getByRole('button', { name: /Voir l.aperçu/ }).click();
    await page.locator('#apercu h3').waitFor();
    await check('reservations.html, aperçu');
    await page.getByRole('button', { name: 'Ajouter au panier' }).click();
    await page.locator('#apercu .message').waitFor();
    await check('reservations.html, période ajoutée');
    // Cancelling a period with a booked day past its deadline.
    await page.getByLabel('Annuler', { exact: true }).check();
    await page.getByLabel('Du', { exact: true }).fill('2026-11-26');
    await page.getByLabel('Au', { exact: true }).fill('2026-12-18');
    await page.locator('#periode').getByLabel('Jeudi', { exact: true }).check();
    await page.getByRole('button', { name: /Voir l.aperçu/ }).click();
    await page.locator('#apercu h3').waitFor();
    await check('reservations.html, aperçu d’annulation');

    await go('panier.html');
    await page.getByRole('button', { name: 'Valider mon panier' }).waitFor();
    await check('panier.html');
    await page.getByRole('button', { name: 'Valider mon panier' }).click();
    await page.getByText('Votre panier est vide.').waitFor();
    await check('panier.html, validé');

    await go('malade.html');
    await page.getByLabel('Enfant malade').selectOption({ label: 'Léa' });
    await page.getByLabel('Premier jour d’absence').fill('2026-11-30');
    await page.getByLabel('Dernier jour (facultatif)').fill('2026-12-08');
    await page.getByLabel('Motif').fill('Fièvre');
    await page.getByRole('button', { name: 'Signaler l’absence' }).click();
    await page.locator('#reponse-malade h2').waitFor();
    await check('malade.html, absence signalée');

    for (const path of ['demandes.html', 'factures.html', 'fiche.html', 'inscriptions.html?annee=2027-2028']) {
      await go(path);
      await page.waitForLoadState('networkidle');
      await check(path);
    }
    // « Espace mairie » as the administrator: printed for its owner, not held here.
    await go('index.html');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('link', { name: 'Se connecter' }).waitFor();
    await go('connexion.html');
    await page.getByLabel('Adresse e-mail').fill('mairie@villeneuve-les-tilleuls.fr');
    await page.getByLabel('Mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByText(/Nadia Roux/).first().waitFor();
    await go('mairie.html');
    await page.waitForLoadState('networkidle');
    const staff = await scan(page);
    console.log(`« Espace mairie » (not held here): ${staff.length} forbidden forms\n${staff.join('\n')}`);

    console.log(`parent pages: ${findings.length} forbidden forms\n${findings.join('\n')}`);
    assert.deepEqual(findings, [], 'French typography on the parent pages');
  } finally {
    await context.close();
    await portal.stop();
  }
});
