// The parents' pages in a real browser: Debian's Chromium driven by playwright-core, against the
// local portal (started here, on a free port, with a fresh data folder and its clock frozen on
// Thursday 26 November 2026, 10:00 in Paris), at a phone's size and a desktop's, with axe-core
// (WCAG 2.1 A and AA rules) on every page.
//
// Run by scripts/test, which builds the portal and sets EF_BIN. With EF_SCREENSHOTS=<folder>
// the main pages are also photographed there (scripts/screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';

const BIN = process.env.EF_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.EF_SCREENSHOTS;
const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const PASSWORD = 'tilleuls-demo-2026';
const AGENT_NAME = 'Karim Benali';

let browser;
before(async () => {
  assert.ok(BIN, 'EF_BIN names the espace-famille-local binary (scripts/test sets it)');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

/** A browser context for `device` that records every Content-Security-Policy violation of its
 * pages (checked with axe-core on each page: the pages must work under the portal's policy). */
async function newContext(device) {
  const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return context;
}

/** No WCAG 2.1 A/AA violation, and no CSP violation, on the page as it is now. */
async function checkAxe(page, name) {
  const csp = (await page.evaluate(() => window.__cspViolations)) ?? [];
  assert.deepEqual(csp, [], `${name}: Content-Security-Policy violations`);
  const policy = await page.evaluate(async () => (await fetch(location.href, { method: 'HEAD' })).headers.get('content-security-policy'));
  assert.match(policy ?? '', /script-src 'self';/, `${name}: the page is served with its policy`);
  // Evaluated by the driver, not injected as an inline script the page's policy would refuse.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `${name}: accessibility violations`);
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Ticks a checkbox with the keyboard (focus, Space), as a keyboard user would. */
async function tick(box) {
  await box.focus();
  await box.press('Space');
  assert.equal(await box.isChecked(), true);
}

/** Waits for the page's live message to say `text`. */
async function message(page, text) {
  await page.locator('#message').filter({ hasText: text }).waitFor();
}

/** Opens a tab of « Espace mairie » from its menu. */
async function section(page, name) {
  await page.getByRole('navigation', { name: 'Menu de la mairie' }).getByRole('link', { name, exact: true }).click();
  await page.locator(`#onglets a[aria-current="page"]`).filter({ hasText: name }).waitFor();
}

/** Whether the element is entirely within the viewport. */
async function inViewport(locator) {
  // (Brought into view, an element's edge can land a fraction of a pixel past the viewport's.)
  return locator.evaluate((e) => { const r = e.getBoundingClientRect(); return r.top >= -1 && r.bottom <= window.innerHeight + 1; });
}

/** Waits for the week grid's own message (under the grid) to say `text`, on screen. */
async function gridSays(page, text) {
  const region = page.locator('#message-grille').filter({ hasText: text });
  await region.waitFor();
  assert.equal(await inViewport(region), true, `« ${text} » is in the viewport`);
}

const VIEWPORTS = [
  { name: 'telephone', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  { name: 'ordinateur', viewport: { width: 1280, height: 800 } },
];

for (const device of VIEWPORTS) {
  test(`a guardian activates, books a week and a period, validates, cancels, logs out (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await newContext(device);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const go = (path) => page.goto(`${portal.url}/${path}`);

      // Activation from the emailed link (the Nguyens' guardian has not activated yet).
      // (The notifier sends the outbox every second: the page is read again until it is there.)
      const activationMail = page.getByRole('link', { name: /Activez votre Espace Famille/ }).first();
      for (let i = 0; i < 120; i += 1) {
        await go('dev/mail');
        if (await activationMail.count()) break;
        await page.waitForTimeout(250);
      }
      await activationMail.click();
      const link = await page.getByRole('link', { name: 'Activer mon compte' }).getAttribute('href');
      assert.match(link, /\/activation\.html\?commune=villeneuve-les-tilleuls#jeton=/);
      await page.goto(link);
      await checkAxe(page, 'activation');
      await page.getByLabel('Mot de passe', { exact: true }).fill('un mot de passe de test');
      await page.getByLabel('Confirmez le mot de passe').fill('un mot de passe de test');
      await page.getByRole('button', { name: 'Activer mon compte' }).click();
      await page.getByText('Connecté(e) : Linh Nguyen').waitFor();
      await message(page, 'Votre compte est activé');
      // The service's contact, on the home page.
      await page.locator('#contact-service').getByText('01 23 45 67 89').waitFor();
      await page.getByRole('button', { name: 'Se déconnecter' }).click();
      await page.getByRole('link', { name: 'Se connecter' }).waitFor();

      // Login.
      await go('connexion.html');
      await checkAxe(page, 'connexion');
      await shot(page, `connexion-${device.name}`);
      await page.getByLabel('Adresse e-mail').fill('sophie.martin@exemple.fr');
      await page.getByLabel('Mot de passe').fill('pas le bon');
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await message(page, 'incorrect');
      await page.getByLabel('Mot de passe').fill(PASSWORD);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.getByText('Connecté(e) : Sophie Martin').waitFor();
      // The town's news, pinned first.
      await page.getByRole('heading', { name: 'Bienvenue sur votre Espace Famille' }).waitFor();
      assert.equal(await page.locator('article.actualite h3').first().textContent(), 'Bienvenue sur votre Espace Famille');
      // How to reach the service: the régie, and the leisure centre's own office.
      const contact = page.locator('#contact-service');
      await contact.getByText('Régie enfance-jeunesse de Villeneuve-les-Tilleuls').waitFor();
      await contact.getByRole('heading', { name: 'ALSH – Accueil de loisirs' }).waitFor();
      await contact.getByText('Téléphone : 01 34 00 12 40').waitFor();
      await checkAxe(page, 'accueil');
      await shot(page, `accueil-${device.name}`);
      await go('mot-de-passe.html');
      await checkAxe(page, 'mot de passe oublié');

      // The week grid: Léa's canteen, two weeks ahead (Monday 7 December). The page's own files
      // (HTML, CSS, scripts; the API's JSON aside) stay light.
      await go('reservations.html');
      // One week on a phone, four on a large screen (the guide's layout).
      const phone = device.name === 'telephone';
      await page.getByRole('heading', { name: phone ? 'Semaine 48 du 23/11/2026 au 27/11/2026' : 'Semaines 48 à 51, du 23/11/2026 au 18/12/2026' }).waitFor();
      const files = await page.evaluate(() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .filter((e) => !e.name.includes('/api/')).map((e) => e.decodedBodySize));
      const bytes = files.reduce((a, b) => a + b, 0);
      console.log(`reservations page (${device.name}): ${files.length} files, ${bytes} bytes uncompressed`);
      assert.ok(bytes < 60_000, `the reservations page weighs ${bytes} bytes`);
      await checkAxe(page, 'mes réservations');
      // A tap on a cell opens its details: past its deadline, what a change costs and whom to
      // call.
      await page.getByRole('button', { name: /détails de Cantine, vendredi 27\/11\/2026/ }).click();
      const details = page.locator('#detail-cellule');
      await details.getByRole('heading', { name: 'Cantine – vendredi 27/11/2026' }).waitFor();
      await details.getByText(/dépassé/).first().waitFor();
      await details.getByText(/Contactez le service\s: .*Régie/).waitFor();
      assert.equal(await inViewport(details.getByRole('heading')), true, 'the details are on screen');
      assert.doesNotMatch(await details.textContent(), /null|undefined|NaN/);
      await checkAxe(page, 'mes réservations, détails d\'une case');
      await details.getByRole('button', { name: 'Fermer' }).click();
      await details.waitFor({ state: 'hidden' });
      // « Suivant » and « Précédent » move by the view's length.
      if (phone) {
        await page.getByRole('button', { name: 'Suivant' }).click();
        await page.getByRole('heading', { name: 'Semaine 49 du 30/11/2026 au 04/12/2026' }).waitFor();
        await page.getByRole('button', { name: 'Suivant' }).click();
        await page.getByRole('heading', { name: 'Semaine 50 du 07/12/2026 au 11/12/2026' }).waitFor();
      } else {
        await page.getByRole('button', { name: 'Suivant' }).click();
        await page.getByRole('heading', { name: 'Semaines 52 à 2, du 21/12/2026 au 15/01/2027' }).waitFor();
        await page.getByRole('button', { name: 'Précédent' }).click();
        await page.getByRole('heading', { name: 'Semaines 48 à 51, du 23/11/2026 au 18/12/2026' }).waitFor();
      }
      // Each cell says until when and how much, without hover (a phone has none), and the week
      // fits the screen.
      // Five days fit a phone's width: no table of the grid scrolls or overflows.
      const overflowing = await page.locator('table.grille-semaine').evaluateAll((ts) => ts.filter((t) => t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().right > window.innerWidth).length);
      assert.equal(overflowing, 0, 'every week fits the screen');
      const mondayCell = page.locator('table.grille-semaine td').filter({ has: page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ }) });
      await mondayCell.locator('.delai').filter({ hasText: /^jusqu’au jeu\. 03\/12 · 2,50.€ – détails de Cantine/ }).waitFor({ state: 'visible' });
      // The cell is two targets of at least 44 × 44 px (WCAG 2.2): the box with its state, the details.
      for (const target of [mondayCell.locator('label.case'), mondayCell.locator('.delai')]) {
        const box = await target.boundingBox();
        assert.ok(box.width >= 44 && box.height >= 44, `a cell's target is ${box.width} × ${box.height} px`);
      }
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scroll');
      await mondayCell.getByRole('button', { name: /détails/ }).click();
      await details.getByText(/^Réservation en ligne jusqu’au 03\/12\/2026 à 23\sh\s59/).waitFor();
      await details.getByText('Prix : 2,50').waitFor();
      await page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ }).check();
      await gridSays(page, 'réservation ajoutée au panier');
      await page.getByRole('checkbox', { name: /Cantine, mardi 08\/12\/2026/ }).check();
      await gridSays(page, 'mardi 08/12/2026 : réservation ajoutée au panier');
      await checkAxe(page, 'mes réservations, lignes dans le panier');
      await shot(page, `reservations-${device.name}`);

      // A second child: Hugo's evening care that week.
      await page.getByLabel('Sélectionnez le service / le site').selectOption({ label: 'Accueil périscolaire – Groupe scolaire Jules Ferry' });
      await page.getByLabel('Sélectionnez l’enfant').selectOption({ label: 'Hugo Martin' });
      await page.locator('caption', { hasText: 'Hugo' }).first().waitFor();
      await page.getByRole('checkbox', { name: /Périscolaire soir, jeudi 10\/12\/2026/ }).check();
      await gridSays(page, 'jeudi 10/12/2026 : réservation ajoutée au panier');

      // The period view: Léa's canteen every Thursday of January.
      await page.getByLabel('Sélectionnez le service / le site').selectOption({ label: 'Restauration scolaire – Groupe scolaire Jules Ferry' });
      await page.getByLabel('Sélectionnez l’enfant').selectOption({ label: 'Léa Martin' });
      await page.locator('caption', { hasText: 'Léa' }).first().waitFor();
      // The period view, one tap away.
      await page.getByRole('button', { name: 'Période', exact: true }).click();
      await page.getByLabel('Du', { exact: true }).fill('2027-01-04');
      // « Au » from the town's calendar: the eve of the next holidays, of the summer ones.
      await page.getByRole('button', { name: 'Jusqu’aux prochaines vacances' }).click();
      await page.locator('#message-periode').filter({ hasText: /veille des vacances d.hiver/ }).waitFor();
      assert.match(await page.getByLabel('Au', { exact: true }).inputValue(), /^2027-02-/);
      await page.getByRole('button', { name: 'Jusqu’à la fin de l’année scolaire' }).click();
      await page.locator('#message-periode').filter({ hasText: /veille des vacances d.été/ }).waitFor();
      assert.match(await page.getByLabel('Au', { exact: true }).inputValue(), /^2027-07-/);
      await page.getByLabel('Au', { exact: true }).fill('2027-01-29');
      await tick(page.locator('#prestations').getByLabel('Cantine'));
      await tick(page.getByLabel('Jeudi', { exact: true }));
      await page.getByLabel('Au', { exact: true }).fill('');
      await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
      await page.locator('#message-periode').filter({ hasText: 'Indiquez les dates de début et de fin' }).waitFor();
      await page.getByLabel('Au', { exact: true }).fill('2027-01-29');
      await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
      await page.getByRole('heading', { name: /Aperçu\s: 4\sjours à réserver, total 10,00/ }).waitFor();
      // The same pattern for Hugo too, in one go.
      await tick(page.locator('#enfants-periode').getByLabel('Hugo Martin'));
      await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
      await page.getByRole('heading', { name: /Aperçu\s: 8\sjours à réserver pour 2 enfants, total 20,00/ }).waitFor();
      await page.getByRole('heading', { name: /Hugo\s: 4\sjours, 10,00/ }).waitFor();
      await page.getByRole('button', { name: 'Ajouter au panier' }).click();
      // The answer is next to the button, on screen, with the next step: the basket. The bar at
      // the bottom of the screen counts the basket's lines and their total.
      const added = page.locator('#apercu .message').filter({ hasText: '8 lignes ajoutées au panier' });
      await added.waitFor();
      assert.equal(await inViewport(added), true, 'the answer is in the viewport');
      await added.getByRole('link', { name: 'Voir mon panier et le valider' }).waitFor();
      await page.locator('#resume-panier').filter({ hasText: /Mon panier\s: 11\slignes · 27,50/ }).waitFor();
      assert.equal(await inViewport(page.locator('#barre-panier')), true, 'the basket bar is on screen');

      // The basket: 11 lines, their total, validated once.
      await go('panier.html');
      await page.getByText('11 lignes').waitFor();
      await checkAxe(page, 'panier');
      await shot(page, `panier-${device.name}`);
      const total = page.locator('#total-martin');
      assert.equal((await total.textContent()).replace(/\s/g, ' '), '27,50 €');
      // Grouped per child and unit, the dates on demand; the total and « Valider » on screen
      // without scrolling (a sticky bar on a phone).
      const lea = page.locator('article.groupe.ajout').filter({ has: page.getByRole('heading', { name: 'Léa – Cantine' }) });
      await lea.getByText(/Réservation\s: 6 jours, du lundi 07\/12\/2026 au jeudi 28\/01\/2027 – 15,00.€/).waitFor();
      assert.equal(await lea.getByText('jeudi 14/01/2027').isVisible(), false, 'the dates are folded');
      await lea.getByText('Voir les 6 dates').click();
      await lea.getByText(/jeudi 14\/01\/2027 – 2,50.€/).waitFor();
      await page.locator('article.groupe').filter({ has: page.getByRole('heading', { name: 'Hugo – Périscolaire soir' }) }).getByText(/Réservation\s: 1 jeudi, jeudi 10\/12\/2026/).waitFor();
      await page.locator('article.groupe').filter({ has: page.getByRole('heading', { name: 'Hugo – Cantine' }) }).getByText(/Réservation\s: 4 jeudis, du jeudi 07\/01\/2027 au jeudi 28\/01\/2027 – 10,00.€/).waitFor();
      const validate = page.getByRole('button', { name: 'Valider mon panier' });
      assert.equal(await inViewport(validate), true, '« Valider mon panier » is on screen');
      await validate.dblclick();
      await page.getByText(/Votre panier est validé\s: 11\slignes enregistrées, pour 27,50/).waitFor();
      await page.getByText('Votre panier est vide.').waitFor();
      await checkAxe(page, 'panier validé');
      await shot(page, `panier-valide-${device.name}`);

      // The cells changed state; cancelling a day goes through the basket too.
      await go('reservations.html?semaine=2026-12-07');
      const monday = page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ });
      await page.locator('td.confirmed').first().waitFor();
      assert.equal(await monday.isChecked(), true);
      await monday.uncheck();
      await gridSays(page, 'annulation ajoutée au panier');
      await go('panier.html');
      // A cancellation does not look like an addition.
      await page.locator('article.groupe.annulation').getByText(/^−\s*Annulation\s: 1 lundi, lundi 07\/12\/2026/).waitFor();
      await page.getByRole('button', { name: 'Valider mon panier' }).click();
      await page.getByText(/annulée/).first().waitFor();
      await go('reservations.html?semaine=2026-12-07');
      await page.getByRole('checkbox', { name: /Cantine, mardi 08\/12\/2026/ }).waitFor();
      const cancelledMonday = page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ });
      assert.equal(await cancelledMonday.isChecked(), false);
      // It says « Annulée », not a day never booked, and can be booked again.
      assert.equal(await page.locator('td', { has: cancelledMonday }).locator('.etat').textContent(), 'Annulée');
      assert.match(await page.locator(`#${await cancelledMonday.getAttribute('id')}-info`).textContent(), /^Annulée, réservable à nouveau – réservable jusqu’au/);
      // A booking's history is in its details.
      await page.getByRole('button', { name: /détails de Cantine, mardi 08\/12\/2026/ }).click();
      await page.locator('#detail-cellule').getByRole('heading', { name: 'Historique' }).waitFor();
      await page.locator('#detail-cellule ol.historique li').filter({ hasText: /validée/ }).first().waitFor();
      // A cancelled day keeps its history.
      await page.getByRole('button', { name: /détails de Cantine, lundi 07\/12\/2026/ }).click();
      await page.locator('#detail-cellule').getByRole('heading', { name: 'Cantine – lundi 07/12/2026' }).waitFor();
      await page.locator('#detail-cellule ol.historique li').filter({ hasText: /validée → annulée/ }).first().waitFor();

      // One confirmation email per validation, however many clicks.
      // The page never grows wider than the screen (tables scroll in their own region).
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
      // (The notifier sends the outbox every second.)
      let confirmations = 0;
      for (let i = 0; i < 20 && confirmations < 2; i += 1) {
        await go('dev/mail');
        confirmations = await page.getByRole('row').filter({ hasText: 'sophie.martin@exemple.fr' }).filter({ hasText: 'Confirmation de vos réservations' }).count();
        if (confirmations < 2) await page.waitForTimeout(250);
      }
      assert.equal(confirmations, 2);

      // « Mes factures »: the month so far and to its end, each line with the rule that priced it
      // and last month's invoice; the legal pages; the towns' contact form.
      await go('factures.html');
      await page.getByText(/Novembre 2026, à ce jour\s: .+\s; prévu jusqu’à la fin du mois\s: .+\./).waitFor();
      await page.getByRole('cell', { name: /Tarif QF 601–1000 €, résident\s: 2,50.€/ }).first().waitFor();
      // Last month's invoice, issued by the demo: its lines open on demand.
      await page.getByText(/Facture n° 2026-000002 – Octobre 2026 – 10,00.€/).click();
      await page.getByRole('cell', { name: '1, 2, 5 et 6/10' }).waitFor();
      // Its PDF, and contesting a line.
      const pdfLink = page.getByRole('link', { name: 'Télécharger la facture n° 2026-000002 (PDF)' });
      const pdf = await page.evaluate(async (href) => {
        const r = await fetch(href);
        return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength > 1000];
      }, await pdfLink.getAttribute('href'));
      assert.deepEqual(pdf, [200, 'application/pdf', true]);
      await page.getByLabel('Ligne', { exact: true }).selectOption({ index: 0 });
      await page.getByLabel('Ce qui ne va pas').fill('Léa était malade le 1er octobre : le certificat a été envoyé.');
      await page.getByRole('button', { name: 'Envoyer ma contestation' }).click();
      await page.getByText('Votre contestation est transmise au service').waitFor();
      await page.getByText(/en attente de réponse du service/).waitFor();
      await checkAxe(page, 'mes factures');
      await shot(page, `factures-${device.name}`);
      for (const [link, heading] of [['Mentions légales', 'Mentions légales'], ['Conditions générales d’utilisation', 'Conditions générales d’utilisation']]) {
        await page.getByRole('contentinfo').getByRole('link', { name: link }).click();
        await page.getByRole('heading', { level: 1, name: heading }).waitFor();
        await checkAxe(page, heading);
      }
      await page.getByRole('contentinfo').getByRole('link', { name: 'Vous êtes une mairie ? Contactez-nous' }).click();
      await checkAxe(page, 'contact');
      await page.getByLabel('Commune').fill('Saint-Martin-des-Champs');
      await page.getByLabel('Votre nom').fill('Claire Dubois');
      await page.getByLabel('Adresse e-mail').fill('claire.dubois@saint-martin.example');
      await page.getByLabel('Message', { exact: true }).fill('Bonjour, nous aimerions une démonstration pour nos 120 familles.');
      await page.getByRole('button', { name: 'Envoyer' }).click();
      await message(page, 'Merci : votre message a été transmis');
      let contacted = 0;
      for (let i = 0; i < 20 && contacted === 0; i += 1) {
        await go('dev/mail');
        contacted = await page.getByRole('row').filter({ hasText: 'Demande de contact d’une mairie\u202f: Saint-Martin-des-Champs' }).count();
        if (contacted === 0) await page.waitForTimeout(250);
      }
      assert.equal(contacted, 1);

      // Logout.
      await go('index.html');
      await page.getByRole('button', { name: 'Se déconnecter' }).click();
      await page.getByRole('link', { name: 'Se connecter' }).waitFor();
      await go('panier.html');
      await page.getByText('Connectez-vous pour accéder à cette page').waitFor();

      // The town's agent answers the contest with a credit note; Sophie sees it on her invoice.
      await logIn(page, portal.url, 'agent@villeneuve-les-tilleuls.fr', AGENT_NAME);
      await go('mairie.html#contestations');
      const contest = page.locator('#liste-contestations form').filter({ hasText: 'Famille Martin – facture n° 2026-000002' });
      await contest.getByText('Léa était malade le 1er octobre').waitFor();
      await contest.getByLabel("Montant de l'avoir (€)").fill('2,50');
      await contest.getByLabel('Réponse à la famille').fill('Certificat reçu : le 1er octobre vous est remboursé.');
      await contest.getByRole('button', { name: 'Accepter (avoir)' }).click();
      await contest.getByText('Avoir n° AV-2026-000001 émis').waitFor();
      await checkAxe(page, 'espace mairie, contestations');
      // The agent takes the Bernards' cheque at the desk.
      await section(page, 'Impayés');
      const bernard = page.locator('#liste-impayes tr').filter({ hasText: 'Famille Bernard' });
      await bernard.getByText('Encaisser').click();
      await bernard.getByLabel('Mode de paiement').selectOption('cheque');
      await bernard.getByLabel('Montant reçu (€)').fill('3,00');
      await bernard.getByLabel('N° du chèque').fill('0012345');
      await bernard.getByLabel(/Précisions/).fill('Crédit Agricole');
      await bernard.getByRole('button', { name: 'Enregistrer le paiement' }).click();
      await page.locator('#liste-impayes').getByText(/Paiement de 3,00.€ enregistré : quittance n° Q-2026-000001/).waitFor();
      // Paid: off the list once it is read again (the answer shows before the list reloads, so
      // wait for the row to go rather than count it at once).
      await page.locator('#liste-impayes tr').filter({ hasText: 'Famille Bernard' }).waitFor({ state: 'detached' });
      await checkAxe(page, 'espace mairie, impayés');
      await logOut(page, portal.url);
      await logIn(page, portal.url, 'sophie.martin@exemple.fr', 'Sophie Martin');
      await go('factures.html');
      await page.getByText(/Facture n° 2026-000002 – Octobre 2026/).click();
      await page.getByText(/acceptée\s: avoir n° AV-2026-000001 de 2,50/).waitFor();
      await page.getByText(/Reste à payer\s: 7,50.€/).waitFor();
      // Sophie pays what is left online, through the PayFiP simulator.
      await page.getByRole('button', { name: /Payer en ligne 7,50.€/ }).click();
      await page.getByRole('heading', { name: /PayFiP \(simulateur\)/ }).waitFor();
      await page.getByRole('button', { name: 'Payer', exact: true }).click();
      await message(page, 'Votre paiement est enregistré');
      const receipt = page.getByRole('link', { name: /quittance n° Q-2026-000002 \(PDF\)/ });
      await receipt.waitFor();
      const receiptPdf = await page.evaluate(async (href) => {
        const r = await fetch(href);
        return [r.status, r.headers.get('content-type')];
      }, await receipt.getAttribute('href'));
      assert.deepEqual(receiptPdf, [200, 'application/pdf']);
      await page.getByText(/Reste à payer\s: 0,00.€/).waitFor();
      await page.getByText(/Facture n° 2026-000002 – Octobre 2026 – 10,00.€ – Payée/).waitFor();
      await checkAxe(page, 'mes factures, payée');
      await shot(page, `factures-payee-${device.name}`);
      assert.deepEqual(errors, [], 'no script error');
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}

for (const device of VIEWPORTS) {
  test(`town staff publish news with a file, decide a request, take attendance, find a family, change the configuration (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await newContext(device);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const go = (path) => page.goto(`${portal.url}/${path}`);
      await go('connexion.html');
      await page.getByLabel('Adresse e-mail').fill('mairie@villeneuve-les-tilleuls.fr');
      await page.getByLabel('Mot de passe').fill(PASSWORD);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.getByText('Connecté(e) : Nadia Roux').waitFor();

      await go('mairie.html');
      await page.getByRole('heading', { name: 'Demandes en attente' }).waitFor();
      await page.getByText('2 demandes').waitFor();
      await checkAxe(page, 'espace mairie');
      await shot(page, `mairie-${device.name}`);

      // News, published for the guardians' home page.
      await section(page, 'Actualités');
      await page.getByLabel('Titre').fill('Sortie au musée le mercredi 16 décembre');
      await page.getByLabel('Texte').fill("Les enfants de l'accueil de loisirs visiteront le **musée des Beaux-Arts**.");
      await tick(page.getByLabel('Épingler en tête des actualités'));
      await page.getByRole('button', { name: 'Publier' }).click();
      await message(page, 'publiée');
      // With the programme attached (straight to the storage, like a family's documents).
      const title = 'Sortie au musée le mercredi 16 décembre';
      await page.getByLabel(`Joindre un fichier à « ${title} » (PDF, JPEG, PNG)`).setInputFiles({ name: 'programme.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\nle programme de la sortie\n%%EOF\n') });
      await page.getByRole('button', { name: `Joindre à « ${title} »` }).click();
      await message(page, `« programme.pdf » est joint à « ${title} »`);

      // Hugo's pending holiday request, accepted.
      await section(page, 'Aujourd’hui');
      await page.getByRole('button', { name: 'Accepter la demande de Hugo du lundi 21/12/2026' }).click();
      await message(page, 'acceptée');
      await page.getByText('1 demande', { exact: true }).waitFor();
      // The rest by filter and selection: the leisure centre's requests of December, refused
      // together, with the reason the families will read.
      await page.getByLabel('Service', { exact: true }).selectOption({ label: 'ALSH – Accueil de loisirs' });
      await page.getByLabel('À partir du', { exact: true }).fill('2026-12-01');
      await page.getByLabel('Jusqu’au', { exact: true }).fill('2026-12-31');
      await page.getByRole('button', { name: 'Filtrer les demandes' }).click();
      // The filtered list replaces the old one (also « 1 demande »): wait for it, or the box ticked
      // below would be on rows about to go (the flake of stop 35: « Cochez au moins une demande »).
      await page.locator('#file[aria-busy="false"]').waitFor();
      await page.getByText('1 demande', { exact: true }).waitFor();
      await tick(page.getByLabel('Choisir toutes les demandes'));
      await page.getByRole('button', { name: 'Refuser la sélection' }).click();
      await message(page, 'Indiquez la raison du refus');
      await page.getByLabel('Raison du refus de la sélection').fill("Le centre est complet ce jour-là.");
      await page.getByRole('button', { name: 'Refuser la sélection' }).click();
      await message(page, '1 demande refusée');
      await page.getByText('Aucune demande en attente.').waitFor();

      // A late addition asked by a family: Jade's canteen tomorrow, at the late price (2,50 € + 1 €).
      // The child is picked by name, from the family's page (search as you type).
      await section(page, 'Familles');
      await page.getByLabel('Nom, prénom, e-mail ou référence').fill('martin');
      await page.getByRole('button', { name: 'Rechercher' }).click();
      await page.getByRole('button', { name: 'Modification hors délai pour Jade Martin' }).click();
      await page.getByRole('heading', { name: 'Modification hors délai' }).waitFor();
      assert.equal(await page.locator('#modif-enfant option:checked').textContent(), 'Jade Martin – Famille Martin');
      // Or typed: « jade » finds her.
      await page.locator('#choix-enfant-modif').getByLabel('Enfant (nom ou prénom)').fill('jade');
      await page.locator('#choix-enfant-modif').getByText('1 enfant trouvé.').waitFor();
      await page.locator('#prestation-modif').selectOption('cantine');
      await page.getByLabel('Date', { exact: true }).fill('2026-11-27');
      // The price shows before anything is written (issue 31 §7); « Annuler » writes nothing.
      await page.getByRole('button', { name: 'Enregistrer la modification' }).click();
      const dialog = page.getByRole('dialog', { name: /pour Jade Martin le vendredi 27\/11\/2026/ });
      await dialog.getByText('Elle sera facturée 3,50').waitFor();
      await dialog.getByText('tarif majoré, hors délai').waitFor();
      await dialog.getByRole('button', { name: 'Annuler' }).click();
      await message(page, 'Rien n’a été enregistré.');
      await page.getByRole('button', { name: 'Enregistrer la modification' }).click();
      await dialog.getByRole('button', { name: 'Enregistrer l’ajout' }).click();
      await message(page, 'Ajout enregistré pour Jade Martin : vendredi 27/11/2026 – 3,50');
      await message(page, 'tarif majoré');

      // Attendance of Monday 16 November at the canteen: Léa was marked present; she was absent.
      await section(page, 'Aujourd’hui');
      await page.getByLabel('Jour', { exact: true }).fill('2026-11-16');
      await page.locator('#prestation').selectOption('cantine');
      await page.getByRole('button', { name: 'Afficher la liste' }).click();
      await page.locator('#liste-pointage').getByText('1 enfant –').waitFor();
      assert.equal(await page.locator('#liste-pointage').getByRole('radio', { name: 'Présent' }).isChecked(), true);
      await tick(page.getByRole('radio', { name: 'Absent', exact: true }));
      await page.getByRole('button', { name: 'Enregistrer le pointage' }).click();
      await message(page, 'Pointage enregistré (1 enfant)');
      await checkAxe(page, 'espace mairie, pointage');
      const href = await page.getByRole('link', { name: 'Exporter la liste (tableur, CSV)' }).getAttribute('href');
      const csv = await page.request.get(`${portal.url}${href}`);
      const bytes = await csv.body();
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      assert.match(bytes.toString('utf8'), /Martin;Léa;CM2;Allergie alimentaire\u202f: kiwi\.;réservé;absent/, "Léa's validated file feeds her notes");
      // Printed alone: the list without the rest of the page.
      await page.evaluate(() => { window.print = () => { window.printed = true; }; });
      await page.getByRole('button', { name: 'Imprimer la liste' }).click();
      assert.equal(await page.evaluate(() => window.printed), true);
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('#actualites').isVisible(), false);
      assert.equal(await page.locator('#liste-pointage table').isVisible(), true);
      await page.emulateMedia({ media: 'screen' });
      await page.evaluate(() => delete document.body.dataset.imprimer);

      // A child present without a booking, added in one step.
      const walkIn = page.locator('#liste-pointage form.fiche');
      // Noé's parents live apart: he is found in both households, and the agent picks the one
      // that brought him.
      await walkIn.getByLabel('Enfant (nom ou prénom)').fill('noé');
      await walkIn.getByText('2 enfants trouvés.').waitFor();
      await walkIn.getByLabel('Enfant choisi').selectOption({ label: 'Noé Bernard-Petit – Famille Bernard' });
      await walkIn.getByRole('button', { name: 'Ajouter comme présent(e)' }).click();
      await message(page, 'Noé Bernard-Petit est ajouté(e) à la liste, présent(e)');
      await page.locator('#liste-pointage').getByText('2 enfants –').waitFor();
      assert.equal(await page.getByRole('group', { name: 'Présence de Noé Bernard-Petit' }).getByRole('radio', { name: 'Présent' }).isChecked(), true);

      // The week's counts for the kitchen.
      await section(page, 'Cuisine');
      await page.getByLabel('Un jour de la semaine').fill('2026-11-30');
      await page.getByRole('button', { name: 'Afficher les effectifs' }).click();
      await page.getByRole('rowheader', { name: 'Cantine' }).waitFor();
      await checkAxe(page, 'espace mairie, effectifs');

      // A family found by a child's name, its bookings with their history (Jade's late canteen).
      await section(page, 'Familles');
      await page.getByLabel('Nom, prénom, e-mail ou référence').fill('jade');
      await page.getByRole('button', { name: 'Rechercher' }).click();
      await page.getByRole('button', { name: 'Voir les réservations de la Famille Martin' }).click();
      await page.getByRole('row').filter({ hasText: 'vendredi 27/11/2026' }).filter({ hasText: 'validée (hors délai)' }).waitFor();
      // Its records corrected: Jade's diet; removing her canteen enrolment is refused while she
      // has canteen bookings to come.
      await page.getByRole('button', { name: 'Modifier la fiche de la Famille Martin' }).click();
      const jade = page.locator('form.fiche').filter({ has: page.getByRole('heading', { name: 'Jade Martin' }) });
      await jade.getByLabel('Santé et régime (allergies, PAI, régime alimentaire)').fill('Sans gluten');
      await jade.getByLabel('Repas à la cantine').selectOption({ label: 'Végétarien' });
      await jade.getByRole('button', { name: 'Enregistrer la fiche de Jade Martin' }).click();
      await message(page, 'Fiche de Jade Martin enregistrée');
      await jade.getByRole('button', { name: 'Retirer cette inscription de Jade Martin' }).first().click();
      await jade.getByRole('button', { name: 'Enregistrer la fiche de Jade Martin' }).click();
      await message(page, 'ne seraient plus couvertes par les inscriptions');
      // The Martins' signed SEPA mandate: a mistyped IBAN is refused, the right one kept masked.
      const mandate = page.locator('.mandat');
      await mandate.getByLabel('Référence unique du mandat (RUM)').fill('VLT-2026-0001');
      await mandate.getByLabel('IBAN').fill('FR76 3000 6000 0112 3456 7890 188');
      await mandate.getByLabel('Titulaire du compte').fill('Sophie Martin');
      await mandate.getByLabel('Signé le').fill('2026-11-20');
      await mandate.getByRole('button', { name: 'Enregistrer le mandat' }).click();
      await mandate.getByText('Cet IBAN n’est pas valide').waitFor();
      await mandate.getByLabel('IBAN').fill('FR76 3000 6000 0112 3456 7890 189');
      await mandate.getByRole('button', { name: 'Enregistrer le mandat' }).click();
      await mandate.getByText('Mandat VLT-2026-0001 enregistré (compte FR76 •••• 0189).').waitFor();
      await mandate.getByText(/signé le vendredi 20\/11\/2026 par Sophie Martin, compte FR76 •••• 0189 \(prochain prélèvement : premier\)/).waitFor();
      await checkAxe(page, 'espace mairie, fiche famille');
      // An activation link sent again to the guardian who has not activated.
      await page.getByLabel('Nom, prénom, e-mail ou référence').fill('nguyen');
      await page.getByRole('button', { name: 'Rechercher' }).click();
      await page.getByRole('button', { name: "Renvoyer le lien d'activation à linh.nguyen@exemple.fr" }).click();
      await message(page, 'un nouveau lien d’activation lui est envoyé');
      // The configuration, by the administrator: a wrong value names its field; a right one is kept.
      await section(page, 'Configuration');
      const setConfig = (days) => page.getByLabel('Configuration (JSON)').evaluate((area, n) => {
        const c = JSON.parse(area.value);
        c.activation_link_days = n;
        area.value = JSON.stringify(c, null, 2);
      }, days);
      await setConfig(45);
      await page.getByRole('button', { name: 'Enregistrer la configuration' }).click();
      await message(page, 'activation_link_days');
      await setConfig(10);
      await page.getByRole('button', { name: 'Enregistrer la configuration' }).click();
      await message(page, 'Configuration enregistrée');
      // The forms: a closure of the leisure centre, and the canteen's base price in euros.
      const closures = page.locator('form.fiche').filter({ has: page.getByRole('heading', { name: 'Fermetures' }) });
      await closures.getByLabel('Date de fermeture').fill('2026-12-18');
      await closures.getByLabel('Motif').fill('Formation du personnel');
      await tick(closures.getByRole('checkbox', { name: /^ALSH/ }));
      await closures.getByRole('button', { name: 'Enregistrer les fermetures' }).click();
      await message(page, 'Fermetures enregistrées');
      await page.locator('form.fiche li').filter({ hasText: 'Formation du personnel' }).waitFor();
      const prices = page.locator('form.fiche').filter({ has: page.getByRole('heading', { name: 'Tarifs, capacités et délais' }) });
      const canteen = prices.getByRole('group', { name: /^Cantine/ });
      await canteen.getByLabel('Tarif de base (€)').fill('trois euros');
      await prices.getByRole('button', { name: 'Enregistrer les tarifs et délais' }).click();
      await message(page, 'écrivez les tarifs en euros');
      await canteen.getByLabel('Tarif de base (€)').fill('3,90');
      await prices.getByRole('button', { name: 'Enregistrer les tarifs et délais' }).click();
      await message(page, 'Tarifs, capacités et délais enregistrés');
      const saved = JSON.parse(await page.getByLabel('Configuration (JSON)').inputValue());
      assert.equal(saved.activities[0].units[0].price.base, 390);
      assert.ok(saved.closures.some((c) => c.date === '2026-12-18' && c.activities?.[0] === 'alsh'), JSON.stringify(saved.closures));
      // Billing: last month's dry run (the demo billed it already: finalising again issues nothing).
      await page.getByRole('link', { name: 'Facturation' }).click();
      await page.getByLabel('Mois').fill('2026-10');
      await page.locator('#choix-facturation').getByRole('button', { name: 'Aperçu' }).click();
      await page.getByText('Aperçu\u202f: 2 factures, 13,00 € au total').waitFor();
      await page.getByText('Octobre 2026\u202f: facturé le dimanche 01/11/2026, publié le dimanche 01/11/2026.').waitFor();
      // October's direct debits: the Martins' invoice, under their new mandate (asked first:
      // mairie.test.mjs tests the guard).
      await page.getByRole('button', { name: 'Prélever octobre 2026' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Prélever octobre 2026' }).click();
      await page.locator('#liste-facturations').getByText('1 facture prélevée pour octobre 2026.').waitFor();
      const pain = await page.evaluate(async (href) => {
        const r = await fetch(href);
        return [r.status, r.headers.get('content-type'), (await r.text()).includes('<MndtId>VLT-2026-0001</MndtId>')];
      }, await page.getByRole('link', { name: 'Fichier de prélèvement octobre 2026 (pain.008)' }).getAttribute('href'));
      assert.deepEqual(pain, [200, 'application/xml', true]);
      // The journal: every staff action, with what changed.
      await section(page, 'Journal');
      await page.getByRole('button', { name: 'Actualiser le journal' }).click();
      const corrected = page.getByRole('row').filter({ hasText: 'Enfant corrigé' }).first();
      await corrected.getByText('Voir').click();
      await corrected.getByText('health_notes : — → "Sans gluten"').waitFor();
      await page.getByRole('row').filter({ hasText: 'Configuration modifiée' }).first().waitFor();
      await page.getByRole('row').filter({ hasText: 'Réservations modifiées hors délai' }).first().waitFor();
      await page.getByRole('row').filter({ hasText: 'Mandat de prélèvement enregistré' }).first().waitFor();
      await checkAxe(page, 'espace mairie, familles et configuration');

      // The guardians read the news first thing.
      await go('index.html');
      await page.getByRole('button', { name: 'Se déconnecter' }).click();
      await page.getByRole('link', { name: 'Se connecter' }).waitFor();
      await page.locator('article.actualite h3').first().waitFor();
      const first = await page.locator('article.actualite h3').allTextContents();
      assert.ok(first.includes('Sortie au musée le mercredi 16 décembre'), first.join(' | '));
      // Its attachment is there; logged out, the portal asks to log in to download it.
      await page.getByRole('button', { name: 'Télécharger programme.pdf (1 Ko)' }).click();
      await page.getByText('Connectez-vous pour télécharger les pièces jointes.').waitFor();
      assert.deepEqual(errors, [], 'no script error');
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}

/** Logs in from the login page. */
async function logIn(page, url, email, name) {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText(`Connecté(e) : ${name}`).waitFor();
}

async function logOut(page, url) {
  await page.goto(`${url}/index.html`);
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.getByRole('link', { name: 'Se connecter' }).waitFor();
}

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(300_000, 'x'), Buffer.from('\n%%EOF\n')]);
// A PNG whole enough for the portal's check (docs/documents.md): its chunks from IHDR to IEND.
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])));
  return Buffer.concat([length, Buffer.from(type, 'ascii'), data, crc]);
}
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])),
  chunk('IDAT', Buffer.alloc(50_000, 7)),
  chunk('IEND', Buffer.alloc(0)),
]);

for (const device of VIEWPORTS) {
  test(`a guardian sends a PDF and a photo, staff accept one and refuse the other, the family sees both (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await newContext(device);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await logIn(page, portal.url, 'sophie.martin@exemple.fr', 'Sophie Martin');
      await page.getByRole('navigation').getByRole('link', { name: 'Mes demandes' }).click();
      await page.getByText('Vous n’avez envoyé aucun document.').waitFor();
      await checkAxe(page, 'mes demandes');

      // The yearly file, for the family: straight to the storage, with its progress.
      await page.getByLabel('Type de document').selectOption({ label: 'Dossier d’inscription annuel' });
      assert.equal(await page.getByLabel('Enfant concerné').isVisible(), false);
      await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'dossier-2026.pdf', mimeType: 'application/pdf', buffer: PDF });
      await page.getByRole('button', { name: 'Envoyer' }).click();
      await page.locator('#message-envoi').filter({ hasText: '« dossier-2026.pdf » est envoyé' }).waitFor();
      // A photo of Léa's medical exemption.
      await page.getByLabel('Type de document').selectOption({ label: 'Dispense médicale' });
      await page.getByLabel('Enfant concerné').selectOption({ label: 'Léa' });
      await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'dispense.png', mimeType: 'image/png', buffer: PNG });
      await page.getByRole('button', { name: 'Envoyer' }).click();
      await page.locator('#message-envoi').filter({ hasText: '« dispense.png » est envoyé' }).waitFor();
      await page.getByText('2 documents').waitFor();
      assert.equal(await page.getByRole('cell', { name: 'Demande en cours' }).count(), 2);
      // A file that is not what it says is refused and not kept.
      await page.getByLabel('Type de document').selectOption({ label: 'Attestation d’assurance' });
      await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'assurance.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00 not a pdf at all') });
      await page.getByRole('button', { name: 'Envoyer' }).click();
      await page.locator('#message-envoi').filter({ hasText: 'n’est pas un PDF valide' }).waitFor();
      await page.getByText('2 documents').waitFor();
      await checkAxe(page, 'mes demandes, envoyés');
      await shot(page, `demandes-${device.name}`);
      await logOut(page, portal.url);

      // Staff open the PDF, accept it, and refuse the photo with a reason.
      await logIn(page, portal.url, 'mairie@villeneuve-les-tilleuls.fr', 'Nadia Roux');
      await page.goto(`${portal.url}/mairie.html`);
      await page.getByText('2 documents', { exact: true }).waitFor();
      await checkAxe(page, 'espace mairie, documents');
      const opened = await page.evaluate(async () => {
        const docs = await (await fetch('/api/towns/villeneuve-les-tilleuls/staff/documents')).json();
        const d = docs.find((x) => x.file_name === 'dossier-2026.pdf');
        const link = await (await fetch(`/api/towns/villeneuve-les-tilleuls/families/${d.family}/documents/${d.id}/download`)).json();
        const file = await fetch(link.url);
        return { status: file.status, size: (await file.arrayBuffer()).byteLength };
      });
      assert.deepEqual(opened, { status: 200, size: PDF.length });
      await page.getByRole('button', { name: 'Accepter dossier-2026.pdf' }).click();
      await message(page, 'accepté');
      await page.getByLabel('Motif du refus de dispense.png').fill('Photo illisible : merci de renvoyer un scan.');
      await page.getByRole('button', { name: 'Refuser dispense.png' }).click();
      await message(page, 'refusé');
      await page.getByText('Aucun document à examiner.').waitFor();
      // Sophie also becomes a guardian of a second family (her partner's), by an import.
      const imported = await page.evaluate(async () => {
        const town = '/api/towns/villeneuve-les-tilleuls';
        const me = await (await fetch(`${town}/auth/session`)).json();
        const row = {
          famille_reference: 'durand', famille_nom: 'Famille Durand',
          responsable1_prenom: 'Sophie', responsable1_nom: 'Martin', responsable1_email: 'sophie.martin@exemple.fr',
          enfant_id: 'lou-durand', enfant_prenom: 'Lou', enfant_nom: 'Durand', enfant_naissance: '2020-05-04',
        };
        const r = await fetch(`${town}/staff/families/import`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token }, body: JSON.stringify([row]) });
        return r.status;
      });
      assert.equal(imported, 200);
      await logOut(page, portal.url);

      // The family sees both outcomes, and was emailed.
      await logIn(page, portal.url, 'sophie.martin@exemple.fr', 'Sophie Martin');
      await page.goto(`${portal.url}/demandes.html`);
      await page.getByRole('cell', { name: /Acceptée \(valable/ }).waitFor();
      await page.getByRole('cell', { name: 'Refusée : Photo illisible : merci de renvoyer un scan.' }).waitFor();
      await checkAxe(page, 'mes demandes, décidés');
      // Her other family's documents, and its child, are one choice away.
      await page.getByLabel('Famille', { exact: true }).selectOption({ label: 'durand (Lou)' });
      await page.getByText('Vous n’avez envoyé aucun document.').waitFor();
      await page.getByLabel('Type de document').selectOption({ label: 'Dispense médicale' });
      assert.deepEqual(await page.getByLabel('Enfant concerné').locator('option').allTextContents(), ['Lou']);
      await page.getByLabel('Famille', { exact: true }).selectOption({ label: 'martin (Léa, Hugo, Jade)' });
      await page.getByText('2 documents').waitFor();
      let mails = 0;
      for (let i = 0; i < 20 && mails < 4; i += 1) {
        await page.goto(`${portal.url}/dev/mail`);
        mails = await page.getByRole('row').filter({ hasText: /Document (accepté|refusé)/ }).count();
        if (mails < 4) await page.waitForTimeout(250);
      }
      assert.equal(mails, 4, 'each decision emailed to both Martin guardians');
      assert.deepEqual(errors, [], 'no script error');
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}

// A sick child and a strike, from the pages: Sophie reports Léa ill for Monday 30 November
// (the register shows it); the administrator closes Tuesday 1 December for a strike, sees what
// it cancels before confirming, and the family is emailed.
test('a guardian reports a sick child, the register shows it; a strike closes a day after its count is seen (ordinateur)', async () => {
  const portal = await startPortal();
  const context = await newContext(VIEWPORTS[1]);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await logIn(page, portal.url, 'sophie.martin@exemple.fr', 'Sophie Martin');
    // « Mon enfant est malade » from the home page.
    await page.getByRole('main').getByRole('link', { name: 'Mon enfant est malade' }).click();
    const sick = page.locator('#malade');
    await sick.getByLabel('Enfant malade').selectOption({ label: 'Léa' });
    await sick.getByLabel('Premier jour d’absence').fill('2026-11-30');
    await sick.getByLabel('Motif').fill('Fièvre');
    await sick.getByRole('button', { name: 'Signaler l’absence' }).click();
    await page.locator('#reponse-malade').getByRole('heading', { name: 'Absence signalée pour Léa' }).waitFor();
    await checkAxe(page, 'mon enfant est malade, absence signalée');
    await logOut(page, portal.url);

    await logIn(page, portal.url, 'mairie@villeneuve-les-tilleuls.fr', 'Nadia Roux');
    await page.goto(`${portal.url}/mairie.html`);
    await page.getByRole('heading', { name: 'Demandes en attente' }).waitFor();
    await page.getByLabel('Jour', { exact: true }).fill('2026-11-30');
    await page.locator('#prestation').selectOption('cantine');
    await page.getByRole('button', { name: 'Afficher la liste' }).click();
    await page.locator('#liste-pointage').getByText('Absence signalée par la famille').waitFor();
    await page.locator('#liste-pointage').getByText('Fièvre').waitFor();

    await section(page, 'Configuration');
    const closures = page.locator('form.fiche').filter({ has: page.getByRole('heading', { name: 'Fermetures' }) });
    await closures.getByLabel('Date de fermeture').fill('2026-12-01');
    await closures.getByLabel('Motif').fill('Grève du 01/12');
    await closures.getByRole('button', { name: 'Enregistrer les fermetures' }).click();
    // Léa's canteen and Hugo's evening care that day: counted, not cancelled yet.
    await page.getByRole('dialog').getByText('Cette fermeture annule 2 réservations de 2 enfants (1 famille)').waitFor();
    await checkAxe(page, 'espace mairie, fermeture à confirmer');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirmer la fermeture' }).click();
    await message(page, '2 réservations annulées par la fermeture\u202f; 1 famille prévenue par e-mail.');
    let mails = 0;
    for (let i = 0; i < 40 && mails < 2; i += 1) {
      await page.goto(`${portal.url}/dev/mail`);
      mails = await page.getByRole('row').filter({ hasText: 'Fermeture\u202f: réservations annulées' }).count();
      if (mails < 2) await page.waitForTimeout(250);
    }
    assert.equal(mails, 2, 'both Martin guardians are told');
    assert.deepEqual(errors, [], 'no script error');
  } finally {
    await context.close();
    await portal.stop();
  }
});
