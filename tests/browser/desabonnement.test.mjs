// The one-click unsubscribe page (desabonnement.html, docs/email.md): a holiday reminder's link
// turns the guardian's reminders off at once, « Recevoir à nouveau les rappels » turns them
// back on, and the page passes axe in both states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPortal } from './portal.mjs';
import { checkAxe as axe } from './axe.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// When the demo's winter holiday bookings open (8 January 2027, midnight in Paris), plus hours: the portal's reminder job,
// which runs at start, emails every guardian who booked nothing yet.
const OPENING = process.env.EF_REMINDER_CLOCK || '2027-01-08T07:00:00Z';

test('a reminder’s link turns reminders off in one click, and the page turns them back on', async () => {
  const portal = await startPortal({ clock: OPENING });
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const errors = [];
  try {
    const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    // The reminder to Sophie Martin, once the portal's jobs have queued and sent it.
    const row = page.locator('tr', { hasText: 'sophie.martin@exemple.fr' }).filter({ hasText: 'réservations sont ouvertes' }).first();
    // /dev/mail is rendered by the server: reloaded until the notifier has written it (bounded).
    for (let tries = 0; ; tries += 1) {
      await page.goto(`${portal.url}/dev/mail`);
      if (await row.count()) break;
      assert.ok(tries < 120, 'no reminder to Sophie Martin on /dev/mail within a minute');
      await page.waitForTimeout(500);
    }
    await row.getByRole('link').click();
    // The email's text gives the page's address (« Désactivez-les en un clic : … »).
    const body = await page.locator('body').textContent();
    const href = body.match(/https?:\/\/\S+\/desabonnement\.html\?commune=villeneuve-les-tilleuls#jeton=[\w-]+/)?.[0];
    assert.ok(href, `no link to desabonnement.html in the reminder: ${body}`);
    await page.goto(href.replace(/^https?:\/\/[^/]+/, portal.url));
    await page.getByText('Les rappels de réservation ne seront plus envoyés à s…@exemple.fr.').waitFor();
    await axe(page, 'désabonnement');
    await page.getByRole('button', { name: 'Recevoir à nouveau les rappels' }).click();
    await page.getByText('Les rappels de réservation seront de nouveau envoyés à s…@exemple.fr.').waitFor();
    assert.ok(await page.getByRole('button', { name: 'Ne plus recevoir les rappels' }).isVisible());
    await axe(page, 'réabonnement');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await portal.stop();
  }
});
