// « Mon enfant est malade » and the pages' answers (issue 31 §2 and §5), at a phone's size: the
// page is one tap from the home page and the menu; a report's answer takes the focus, says which
// days can still be cancelled for free (and cancels them through the basket), which stay billed
// and until when a certificate unbills them (after the days, not before), shortens a range past
// the town's window; the certificate form comes filled in. Each form's answer is next to it (on
// screen) and goes when the context changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'fr-FR' };

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

const inViewport = (locator) => locator.evaluate((e) => { const r = e.getBoundingClientRect(); return r.top >= -1 && r.bottom <= window.innerHeight + 1; });
const focusedId = (page) => page.evaluate(() => document.activeElement?.id);

async function logIn(page, url, email = 'sophie.martin@exemple.fr') {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
}

test('a sick child reported from the home page: free days cancelled, billed days with a certificate due after them (telephone)', async () => {
  const portal = await startPortal();
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    // Friday 27 November, past its cancellation deadline: the agent books Léa's canteen late
    // (the demo books none this week), so that one reported day stays billed.
    await logIn(page, portal.url, 'agent@villeneuve-les-tilleuls.fr');
    const late = await page.evaluate(async () => {
      const town = '/api/towns/villeneuve-les-tilleuls';
      const me = await (await fetch(`${town}/auth/session`)).json();
      const r = await fetch(`${town}/staff/families/martin/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token, 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({ lines: [{ child: 'lea-martin', unit: 'cantine', date: '2026-11-27', action: 'add' }] }),
      });
      return r.status;
    });
    assert.equal(late, 200);
    await page.goto(`${portal.url}/index.html`);
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('link', { name: 'Se connecter' }).waitFor();
    await logIn(page, portal.url);
    // On the home page's first screen, and in the menu.
    const link = page.getByRole('main').getByRole('link', { name: 'Mon enfant est malade' });
    assert.equal(await inViewport(link), true, '« Mon enfant est malade » is in the home page\'s first screen');
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Mon enfant est malade' }).waitFor();
    await link.click();
    await checkAxe(page, 'mon enfant est malade');
    // Thursday 26 November, 10:00: from today to Thursday 10 December, past the town's window
    // (7 days, today included): shortened to Wednesday 2 December, not refused.
    await page.getByLabel('Enfant malade').selectOption({ label: 'Léa' });
    await page.getByLabel('Premier jour d’absence').fill('2026-11-26');
    await page.getByLabel('Dernier jour (facultatif)').fill('2026-12-10');
    await page.getByLabel('Motif').fill('Fièvre');
    await page.getByRole('button', { name: 'Signaler l’absence' }).click();
    const answer = page.locator('#reponse-malade');
    await answer.getByRole('heading', { name: 'Absence signalée pour Léa' }).waitFor();
    assert.equal(await focusedId(page), 'reponse-malade', 'the answer takes the focus');
    assert.equal(await inViewport(answer.getByRole('heading')), true, 'the answer is on screen');
    await answer.getByText(/au plus jusqu’au mercredi 02\/12\/2026/).waitFor();
    const said = await answer.innerText();
    console.log(said);
    // Friday 27 is past its cancellation deadline: billed unless a certificate comes, due after
    // the day itself (the 27th ends at midnight, then 48 h), not 48 h after the report.
    assert.match(said, /Ce jour reste facturé \(vendredi 27\/11\/2026 \(Cantine\), \d+,\d\d.€\), sauf si vous envoyez un certificat médical avant le lundi 30\/11\/2026 à 0\sh\./);
    // Monday 30 November can still be cancelled for free (until Thursday 26 at 23 h 59).
    assert.match(said, /Encore annulable sans frais\s: .*lundi 30\/11\/2026 \(Cantine, jusqu’au jeudi 26\/11\/2026 à 23\sh\s59\)/);
    await checkAxe(page, 'mon enfant est malade, absence signalée');

    // Meanwhile the grid shows the reported day still booked (its box ticked), « Absence signalée ».
    const grid = await context.newPage();
    await grid.goto(`${portal.url}/reservations.html?semaine=2026-11-30`);
    const monday = grid.getByRole('checkbox', { name: /Cantine, lundi 30\/11\/2026/ });
    await monday.waitFor();
    assert.equal(await monday.isChecked(), true, 'a reported day that can still be cancelled stays ticked');
    await grid.locator('td.absence_reported').first().waitFor();
    await grid.close();

    // The free days go to the basket as cancellations, with the way to it.
    await answer.getByRole('button', { name: /Annuler ce(s \d+)? jours? sans frais/ }).click();
    const cancelled = answer.locator('.message').filter({ hasText: /annulations? ajoutées? au panier/ });
    await cancelled.waitFor();
    await cancelled.getByRole('link', { name: 'Voir mon panier et le valider' }).waitFor();

    // The certificate form carries the child and the days.
    await answer.getByRole('link', { name: 'Envoyer le certificat médical' }).click();
    await page.getByLabel('Type de document').waitFor();
    const kind = await page.getByLabel('Type de document').evaluate((s) => s.selectedOptions[0].textContent);
    assert.match(kind, /[Cc]ertificat/);
    assert.equal(await page.getByLabel('Enfant concerné').evaluate((s) => s.selectedOptions[0].textContent), 'Léa');
    assert.equal(await page.locator('#absence-du').inputValue(), '2026-11-26');
    assert.equal(await page.locator('#absence-au').inputValue(), '2026-12-02');
    // « Mes demandes » answers next to « Envoyer ».
    await page.getByRole('button', { name: 'Envoyer' }).click();
    const near = page.locator('#message-envoi').filter({ hasText: 'Choisissez le fichier' });
    await near.waitFor();
    assert.equal(await inViewport(near), true, 'the answer is next to « Envoyer »');
    await checkAxe(page, 'mes demandes, certificat prérempli');

    // Cancelling Friday 27 in the period view: past its deadline, the day is skipped with why
    // and what it costs.
    await page.goto(`${portal.url}/reservations.html?semaine=2026-11-23`);
    await page.getByRole('button', { name: 'Période', exact: true }).click();
    await page.getByLabel('Annuler', { exact: true }).check();
    await page.getByLabel('Du', { exact: true }).fill('2026-11-27');
    await page.getByLabel('Au', { exact: true }).fill('2026-11-27');
    await page.locator('#periode').getByLabel('Cantine').check();
    await page.locator('#periode').getByLabel('Vendredi', { exact: true }).check();
    await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
    await page.locator('#apercu li').filter({ hasText: /vendredi 27\/11\/2026 – Cantine – Absence signalée.*délai d’annulation dépassé le mercredi 25\/11\/2026 à 23\sh\s59\s: reste facturé \d+,\d\d.€/ }).waitFor();
    await checkAxe(page, 'mes réservations, annulation hors délai');
    assert.deepEqual(errors, [], 'no script error');
  } finally {
    await context.close();
    await portal.stop();
  }
});

test('each form answers next to it and forgets its answer when the context changes (telephone)', async () => {
  const portal = await startPortal();
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await logIn(page, portal.url);
    // « Mon enfant est malade »: a refusal takes the focus, and goes when the dates change.
    await page.goto(`${portal.url}/malade.html`);
    await page.getByLabel('Premier jour d’absence').fill('2026-12-20');
    await page.getByLabel('Motif').fill('Fièvre');
    await page.getByRole('button', { name: 'Signaler l’absence' }).click();
    const refused = page.locator('#reponse-malade');
    await refused.getByRole('heading', { name: 'Absence non signalée' }).waitFor();
    assert.equal(await focusedId(page), 'reponse-malade');
    await page.getByLabel('Premier jour d’absence').fill('2026-11-30');
    await refused.waitFor({ state: 'hidden' });

    // The week grid: the answer under the grid, gone with another child.
    await page.goto(`${portal.url}/reservations.html?semaine=2026-12-07`);
    await page.getByRole('checkbox', { name: /Cantine, lundi 07\/12\/2026/ }).check();
    const gridSaid = page.locator('#message-grille').filter({ hasText: 'ajoutée au panier' });
    await gridSaid.waitFor();
    assert.equal(await inViewport(gridSaid), true);
    await gridSaid.getByRole('link', { name: 'Voir mon panier et le valider' }).waitFor();
    await page.getByLabel('Sélectionnez l’enfant').selectOption({ label: 'Hugo Martin' });
    await page.locator('caption', { hasText: 'Hugo' }).first().waitFor();
    assert.equal(await page.locator('#message-grille').isVisible(), false, 'the grid\'s answer went with the child');

    // The period view: an error next to its button; the preview goes with the view.
    await page.getByRole('button', { name: 'Période', exact: true }).click();
    await page.getByLabel('Au', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
    const periodSaid = page.locator('#message-periode').filter({ hasText: 'Indiquez les dates' });
    await periodSaid.waitFor();
    assert.equal(await inViewport(periodSaid), true);
    await page.getByLabel('Au', { exact: true }).fill('2026-12-18');
    await page.locator('#periode').getByLabel('Cantine').check();
    await page.locator('#periode').getByLabel('Jeudi', { exact: true }).check();
    await page.getByRole('button', { name: 'Voir l’aperçu' }).click();
    await page.locator('#apercu h3').waitFor();
    assert.equal(await inViewport(page.locator('#apercu h3')), true, 'the preview is on screen');
    await page.getByRole('button', { name: 'Semaine', exact: true }).click();
    await page.getByRole('button', { name: 'Période', exact: true }).click();
    assert.equal(await page.locator('#apercu h3').count(), 0, 'the preview went with the view');
    assert.equal(await page.locator('#message-periode').isVisible(), false);

    // « Mes demandes »: a refusal next to « Envoyer », gone with another family's choice (one
    // family here: the type changes nothing, the answer stays until the next send).
    await page.goto(`${portal.url}/demandes.html`);
    await page.getByRole('button', { name: 'Envoyer' }).click();
    const docSaid = page.locator('#message-envoi').filter({ hasText: 'Choisissez le fichier' });
    await docSaid.waitFor();
    assert.equal(await inViewport(docSaid), true);
    assert.deepEqual(errors, [], 'no script error');
  } finally {
    await context.close();
    await portal.stop();
  }
});
