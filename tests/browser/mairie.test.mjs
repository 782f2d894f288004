// « Espace mairie »'s irreversible acts in a browser: each asks first, in a modal dialog that
// states what will happen in figures, with the focus on « Annuler » and back on the button after;
// « Annuler » or Escape changes nothing. The billing screen names families and says where each
// month stands: « Facturer » and « Publier » are no longer offered once done. The portal starts
// on Thursday 26 November 2026 (the demo billed and published October), then again on the same
// data on Wednesday 2 December (November is over and not billed). axe-core on each state.
// Run by scripts/test (EF_BIN, CHROMIUM).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const NNBSP = '\u202f';

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

async function signIn(page, url) {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill('mairie@villeneuve-les-tilleuls.fr');
  await page.getByLabel('Mot de passe').fill('tilleuls-demo-2026');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL(/index\.html/);
}

/** The open guard: its name, its text, and which button has the focus. */
async function guard(page) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  return {
    dialog,
    name: await dialog.evaluate((d) => document.getElementById(d.getAttribute('aria-labelledby')).textContent),
    text: await dialog.evaluate((d) => document.getElementById(d.getAttribute('aria-describedby')).textContent),
    focused: await page.evaluate(() => document.activeElement.textContent),
    modal: await dialog.evaluate((d) => d.matches(':modal')),
  };
}

const preview = async (page, month) => {
  await page.getByLabel('Mois', { exact: true }).fill(month);
  await page.locator('#choix-facturation').getByRole('button', { name: 'Aperçu' }).click();
};

test('every irreversible act in « Espace mairie » asks first and says what will happen', async () => {
  let portal = await startPortal();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR' });
  let page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, portal.url);
    // October, billed and published by the demo: its state, the families by name, no button.
    await page.goto(`${portal.url}/mairie.html#facturation`);
    await preview(page, '2026-10');
    await page.getByText(`Octobre 2026${NNBSP}: facturé le dimanche 01/11/2026, publié le dimanche 01/11/2026.`).waitFor();
    await page.getByRole('cell', { name: 'Famille Martin' }).waitFor();
    // The aids each family's bill deducts, a column of the dry run (none in the demo's October).
    await page.getByRole('columnheader', { name: 'Aides déduites' }).waitFor();
    const claim = page.getByRole('link', { name: 'Exporter les aides de 2026 à réclamer aux financeurs (CSV)' });
    assert.match(await claim.getAttribute('href'), /\/staff\/invoices\/aids\?year=2026&format=csv$/);
    assert.equal(await page.getByRole('row', { name: /Famille Martin/ }).getByRole('cell', { name: '—' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: /^Facturer/ }).count(), 0, 'a billed month offers no « Facturer »');
    assert.equal(await page.getByRole('button', { name: /^Publier octobre/ }).count(), 0, 'a published month offers no « Publier »');

    // A closure that cancels bookings: the Martins' Thursday 3 December.
    await page.getByRole('link', { name: 'Configuration' }).click();
    const closures = page.locator('form.fiche').filter({ has: page.getByRole('heading', { name: 'Fermetures' }) });
    await closures.getByLabel('Date de fermeture').fill('2026-12-03');
    await closures.getByLabel('Motif').fill('Grève du personnel');
    const save = closures.getByRole('button', { name: 'Enregistrer les fermetures' });
    await save.click();
    let g = await guard(page);
    assert.equal(g.name, `Confirmer la fermeture${NNBSP}?`);
    assert.match(g.text, /Cette fermeture annule \d+ réservations de 2 enfants \(1 famille\)\..*Cette action est définitive\./s);
    assert.equal(g.focused, 'Annuler', 'the safe choice has the focus');
    assert.ok(g.modal, 'the rest of the page is inert');
    await checkAxe(page, 'fermeture à confirmer');
    await page.keyboard.press('Escape');
    await g.dialog.waitFor({ state: 'detached' });
    assert.equal(await save.evaluate((b) => b === document.activeElement), true, 'the focus is back on the button');
    assert.equal(await closures.locator('li').filter({ hasText: 'Grève du personnel' }).count(), 0, 'nothing saved');
    await save.click();
    g = await guard(page);
    await g.dialog.getByRole('button', { name: 'Confirmer la fermeture' }).click();
    await page.locator('#message').filter({ hasText: 'Fermetures enregistrées' }).waitFor();
    await closures.locator('li').filter({ hasText: 'Grève du personnel' }).waitFor();

    // Wednesday 2 December, on the same data: November is over and not billed.
    await page.close();
    await portal.stop({ keep: true });
    portal = await startPortal({ clock: '2026-12-02T09:00:00Z', dir: portal.dir });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, portal.url);
    await page.goto(`${portal.url}/mairie.html#facturation`);
    await preview(page, '2026-11');
    await page.getByText(`Novembre 2026${NNBSP}: à facturer.`).waitFor();
    await page.getByRole('listitem').filter({ hasText: `Présence non relevée${NNBSP}: Léa Martin (Famille Martin)` }).first().waitFor();
    const bill = page.getByRole('button', { name: 'Facturer novembre 2026' });
    await bill.click();
    g = await guard(page);
    assert.equal(g.name, `Facturer novembre 2026${NNBSP}?`);
    assert.match(g.text, /^1 facture, 10,00\s€, \d+ avertissements? non résolus?\./);
    assert.equal(g.focused, 'Annuler');
    await checkAxe(page, 'facturation à confirmer');
    await g.dialog.getByRole('button', { name: 'Annuler' }).click();
    await g.dialog.waitFor({ state: 'detached' });
    assert.equal(await bill.evaluate((b) => b === document.activeElement), true, 'the focus is back on « Facturer »');
    await preview(page, '2026-11');
    await page.getByText(`Novembre 2026${NNBSP}: à facturer.`).waitFor();
    await page.getByRole('button', { name: 'Facturer novembre 2026' }).click();
    g = await guard(page);
    await g.dialog.getByRole('button', { name: 'Facturer novembre 2026' }).click();
    const state = page.locator('#etat-facturation');
    await state.filter({ hasText: `Novembre 2026${NNBSP}: facturé le mercredi 02/12/2026, pas encore publié. 1 facture émise` }).waitFor();
    assert.equal(await state.evaluate((s) => s === document.activeElement), true, 'the answer takes the focus');
    assert.equal(await page.getByRole('button', { name: 'Facturer novembre 2026' }).count(), 0, 'billed: no « Facturer » any more');

    // « Publier » asks too, then is gone.
    await page.getByLabel('Visible par les familles le').fill('2026-12-02');
    await page.getByRole('button', { name: 'Publier novembre 2026' }).click();
    g = await guard(page);
    assert.match(g.text, /La facture de novembre 2026 \(10,00\s€\) sera visible par les familles le mercredi 02\/12\/2026/);
    await g.dialog.getByRole('button', { name: 'Publier novembre 2026' }).click();
    await state.filter({ hasText: `Novembre 2026${NNBSP}: facturé le mercredi 02/12/2026, publié le mercredi 02/12/2026.` }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Publier novembre 2026' }).count(), 0, 'published: no « Publier » any more');
    await page.getByRole('row').filter({ hasText: 'novembre 2026' }).filter({ hasText: 'publié le' }).waitFor();

    // The runs' list: sending titles to the Trésor public and a direct debit run ask first too.
    const november = page.getByRole('row').filter({ hasText: 'novembre 2026' });
    await november.getByRole('button', { name: 'Émettre les titres de novembre 2026' }).click();
    g = await guard(page);
    assert.equal(g.name, `Émettre les titres de novembre 2026${NNBSP}?`);
    assert.match(g.text, /partent au comptable public/);
    await page.keyboard.press('Escape');
    await g.dialog.waitFor({ state: 'detached' });
    assert.equal(await page.locator('#liste-pes').getByRole('row').count(), 0, 'no PES file made');
    // Confirmed: November's titles go in a PES file, listed and downloaded as the comptable takes it.
    await november.getByRole('button', { name: 'Émettre les titres de novembre 2026' }).click();
    g = await guard(page);
    await g.dialog.getByRole('button', { name: 'Émettre les titres de novembre 2026' }).click();
    await november.getByText('1 fichier PES créé pour novembre 2026.').waitFor();
    const pesRow = page.locator('#liste-pes').getByRole('row').filter({ hasText: 'PES-2026-' });
    await pesRow.filter({ hasText: '1 (10,00' }).waitFor();
    const [pes] = await Promise.all([page.waitForEvent('download'), pesRow.getByRole('link').click()]);
    const xml = readFileSync(await pes.path()).toString('latin1');
    assert.match(xml, /^<\?xml version="1.0" encoding="ISO-8859-1"\?>/, 'ISO-8859-1, as Hélios reads it');
    assert.equal((xml.match(/<PJ>/g) || []).length, 1, 'one piece, with its invoice PDF attached');
    await checkAxe(page, 'fichier PES');
    await november.getByRole('button', { name: 'Prélever novembre 2026' }).click();
    g = await guard(page);
    assert.match(g.text, /familles sous mandat SEPA seront prélevées/);
    await checkAxe(page, 'prélèvement à confirmer');
    await page.keyboard.press('Escape');
    await checkAxe(page, 'facturation');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await portal.stop();
  }
});
