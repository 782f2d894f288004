// The main task measured at a phone's size and a desktop's (issue 31 §1): a guardian books a
// child's Tuesday evenings to the end of the school year, from the home page to the validated
// basket. The test counts the parent's actions (each tap, choice or typed field), the screens
// seen (each page loaded and each view switched to within a page) and the pixels scrolled (every
// change of the page's scroll position, whoever made it: the parent bringing a control into
// reach, or the page bringing its answer on screen), and holds them to the aim: at most
// 3 screens, and under 1,500 px scrolled on a phone. The figures are printed and kept in
// docs/web.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';

const VIEWPORTS = [
  { name: 'telephone', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, maxScroll: 1500 },
  { name: 'ordinateur', viewport: { width: 1280, height: 800 }, maxScroll: 1500 },
];

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { await browser?.close(); });

for (const device of VIEWPORTS) {
  test(`the main task: a child's Tuesday evenings to the end of the year, in few gestures (${device.name})`, async () => {
    const portal = await startPortal();
    const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale: 'fr-FR' });
    // Every change of a page's scroll position, summed.
    let scrolled = 0;
    await context.exposeFunction('__scrolledBy', (px) => { scrolled += px; });
    await context.addInitScript(() => {
      let last = 0;
      addEventListener('scroll', () => { const y = scrollY; window.__scrolledBy(Math.abs(y - last)); last = y; }, { passive: true });
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${portal.url}/connexion.html`);
      await page.getByLabel('Adresse e-mail').fill('sophie.martin@exemple.fr');
      await page.getByLabel('Mot de passe').fill(PASSWORD);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.getByText(/Connecté.*\s:\sSophie Martin/).waitFor();
      // Measured from the home page, logged in.
      scrolled = 0;
      let actions = 0;
      let screens = 0;
      const act = async (what) => { actions += 1; await what(); };

      await act(() => page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Mes réservations' }).click());
      screens += 1;
      // The week grid is in the first screen.
      const grid = page.locator('table.grille-semaine').first();
      await grid.waitFor();
      const gridTop = await grid.evaluate((t) => t.getBoundingClientRect().top + scrollY);
      await act(() => page.getByLabel('Sélectionnez le service / le site').selectOption({ label: 'Accueil périscolaire – Groupe scolaire Jules Ferry' }));
      await act(() => page.getByLabel(/Sélectionnez l.enfant/).selectOption({ label: 'Hugo Martin' }));
      await page.locator('caption', { hasText: 'Hugo' }).first().waitFor();
      // The period view, one tap away where the page offers it.
      const periodTab = page.getByRole('button', { name: 'Période', exact: true });
      if (await periodTab.count()) {
        await act(() => periodTab.click());
        screens += 1;
      }
      const form = page.locator('#periode');
      await act(() => form.getByLabel('Périscolaire soir').check());
      await act(() => form.getByLabel('Mardi', { exact: true }).check());
      await act(() => page.getByRole('button', { name: /Jusqu.à la fin de l.année scolaire/ }).click());
      await page.locator('#message-periode').filter({ hasText: /vacances d.été/ }).waitFor();
      await act(() => page.getByRole('button', { name: /Voir l.aperçu/ }).click());
      await page.getByRole('heading', { name: /Aperçu/ }).waitFor();
      await act(() => page.getByRole('button', { name: 'Ajouter au panier' }).click());
      const added = page.locator('#apercu .message').filter({ hasText: /ajout.* au panier/ });
      await added.waitFor();
      const lines = Number((await added.textContent()).match(/(\d+)\s+ligne/)[1]);
      await checkAxe(page, `mes réservations, période ajoutée (${device.name})`);
      // The next step: a link to the basket in the answer where there is one, the menu else.
      const next = added.getByRole('link', { name: /panier/ });
      if (await next.count()) await act(() => next.click());
      else await act(() => page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: /Mon panier/ }).click());
      screens += 1;
      await act(() => page.getByRole('button', { name: 'Valider mon panier' }).click());
      await page.getByText(/Votre panier est validé/).waitFor();
      await page.getByText('Votre panier est vide.').waitFor();

      console.log(`main task (${device.name}): ${actions} actions, ${screens} screens, ${Math.round(scrolled)} px scrolled (${(scrolled / device.viewport.height).toFixed(1)} screen heights), ${lines} lines, grid at y = ${Math.round(gridTop)}`);
      assert.ok(lines > 20, `${lines} Tuesdays booked`);
      assert.ok(screens <= 3, `${screens} screens`);
      assert.ok(gridTop < device.viewport.height, `the week grid starts in the first screen (y = ${gridTop})`);
      assert.ok(scrolled < device.maxScroll, `${scrolled} px scrolled`);
      assert.deepEqual(errors, [], 'no script error');
    } finally {
      await context.close();
      await portal.stop();
    }
  });
}

// « Mes factures » on a phone (issue 31 §4): what is due comes first, in the first screen; the
// blocks that fill in later do not move what is shown (layout shift, as Lighthouse sums it); one
// heading « Mes factures ».
test('« Mes factures » on a phone: what is due first, nothing moves', async () => {
  const portal = await startPortal();
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'fr-FR' });
  await context.addInitScript(() => {
    window.__shift = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  const page = await context.newPage();
  try {
    await page.goto(`${portal.url}/connexion.html`);
    await page.getByLabel('Adresse e-mail').fill('sophie.martin@exemple.fr');
    await page.getByLabel('Mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
    await page.goto(`${portal.url}/factures.html`);
    const due = page.getByText(/Facture n° 2026-000002 – Octobre 2026 – 10,00.€/);
    await due.waitFor();
    await page.getByText(/Novembre 2026, à ce jour/).waitFor();
    await page.waitForLoadState('networkidle');
    const shift = await page.evaluate(() => window.__shift);
    const dueTop = await due.evaluate((e) => e.getBoundingClientRect().top + scrollY);
    const forecastTop = await page.getByText(/Novembre 2026, à ce jour/).evaluate((e) => e.getBoundingClientRect().top + scrollY);
    const headings = await page.getByRole('heading', { name: 'Mes factures' }).count();
    console.log(`mes factures (telephone): the invoice to pay at y = ${Math.round(dueTop)}, the forecast at y = ${Math.round(forecastTop)}, layout shift ${shift.toFixed(3)}, ${headings} headings « Mes factures »`);
    assert.ok(dueTop < 740, 'the invoice to pay is in the first screen');
    assert.ok(dueTop < forecastTop, 'what is due comes before the forecast');
    assert.ok(shift <= 0.05, `layout shift ${shift}`);
    assert.equal(headings, 1);
    await checkAxe(page, 'mes factures');
    // A contest of one day of a line, not the whole line.
    await due.click();
    const form = page.locator('form.contestation');
    await form.getByRole('group', { name: /Jours contestés/ }).getByLabel('jeudi 01/10/2026').check();
    await form.getByLabel('Ce qui ne va pas').fill('Léa était malade le 1er octobre.');
    await form.getByRole('button', { name: 'Envoyer ma contestation' }).click();
    await page.getByText(/\(1\/10 sur 1, 2, 5 et 6\/10\).*en attente de réponse du service/).waitFor();
    await checkAxe(page, 'mes factures, un jour contesté');
  } finally {
    await context.close();
    await portal.stop();
  }
});
