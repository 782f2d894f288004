// Sophie's yearly tax certificate (issue 28 §2), in the browser: the town bills November and is
// paid at the desk in 2026 (set up through the API, as the staff pages do it — their journeys
// are in mairie.test.mjs); in January 2027 Sophie opens « Mes factures » and downloads her 2026
// « attestation fiscale ». The portal is stopped and started again on the same data at each
// date, and the browser's clock follows it (the page asks for last year's certificate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';
const TOWN = 'villeneuve-les-tilleuls';

async function signIn(page, url, email) {
  await page.goto(`${url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL(/index\.html/);
}

/** A call of the API from the signed-in page (its cookie, its CSRF token); the answer's JSON. */
async function call(page, method, path, body, headers = {}) {
  return page.evaluate(async ({ method, path, body, headers, town }) => {
    const me = await (await fetch(`/api/towns/${town}/auth/session`)).json();
    const r = await fetch(`/api/towns/${town}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: await r.json().catch(() => null) };
  }, { method, path, body, headers, town: TOWN });
}

test('Sophie downloads her 2026 tax certificate from « Mes factures » in January 2027', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  let portal = await startPortal();
  const errors = [];
  try {
    // 26 November: Jade at the canteen and the evening care on Friday 27 (an agent's late change).
    let context = await browser.newContext({ locale: 'fr-FR' });
    let page = await context.newPage();
    await signIn(page, portal.url, 'agent@villeneuve-les-tilleuls.fr');
    const jade = (unit) => ({ child: 'jade-martin', unit, date: '2026-11-27', action: 'add' });
    const booked = await call(page, 'POST', '/staff/families/martin/bookings', { lines: [jade('cantine'), jade('peri-soir')] }, { 'idempotency-key': 'attestation-jade-0001' });
    assert.equal(booked.status, 200, JSON.stringify(booked.json));
    await context.close();

    // 2 December: November billed, and paid in cash at the desk.
    await portal.stop({ keep: true });
    portal = await startPortal({ clock: '2026-12-02T09:00:00Z', dir: portal.dir });
    context = await browser.newContext({ locale: 'fr-FR' });
    page = await context.newPage();
    await signIn(page, portal.url, 'mairie@villeneuve-les-tilleuls.fr');
    for (let run = await call(page, 'POST', '/staff/invoices/runs/2026-11/finalise', {}); ; run = await call(page, 'POST', '/staff/invoices/runs/2026-11/finalise', {})) {
      assert.equal(run.status, 200, JSON.stringify(run.json));
      if (run.json.remaining === 0) break;
    }
    const invoice = await call(page, 'GET', '/families/martin/invoices/2026-11');
    assert.equal(invoice.status, 200, JSON.stringify(invoice.json));
    const paid = await call(page, 'POST', '/staff/invoices/families/martin/2026-11/payments', { method: 'cash', amount: invoice.json.total });
    assert.equal(paid.status, 201, JSON.stringify(paid.json));
    await context.close();

    // 5 January 2027: Sophie, on her phone.
    await portal.stop({ keep: true });
    portal = await startPortal({ clock: '2027-01-05T09:00:00Z', dir: portal.dir });
    context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, acceptDownloads: true });
    await context.clock.setFixedTime(new Date('2027-01-05T09:00:00Z'));
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, portal.url, 'sophie.martin@exemple.fr');
    await page.goto(`${portal.url}/factures.html`);
    const link = page.getByRole('link', { name: 'Télécharger l’attestation fiscale 2026 (PDF)' });
    await link.waitFor();
    await checkAxe(page, 'Mes factures, attestation fiscale');
    const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.equal(file.suggestedFilename(), 'attestation-fiscale-AF-2026-martin.pdf', 'named by its number');
    const pdf = readFileSync(await file.path());
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await browser.close();
    await portal.stop();
  }
});
