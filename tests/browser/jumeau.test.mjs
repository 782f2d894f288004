// The journeys through the stack twin (infra/stack, docs/deployment.md): the pages served as
// CloudFront serves them (the template's security headers, its CSP unchanged), every API call
// through API Gateway's payload 2.0 to the function's own process, AWS played by moto behind
// HTTPS. An agent takes attendance (a child present without a booking, some months back); the
// administrator bills and publishes that month; a parent books and validates a day, sends a
// document straight to the bucket, reads and pays that invoice through the PayFiP simulator and
// downloads its PDF and the receipt. On the system clock (the
// functions read it), so the journeys choose their dates from today.
//
// EF_STACK_BIN names the twin's binary, the functions' binaries beside it (scripts/test sets it
// after `cargo build --workspace --bins`); without it the file is skipped, unless
// EF_REQUIRE_STACK is set. At the end the twin's figures (processes started, cold starts, each
// route's p50 and p95) are printed, and written to EF_STACK_STATS when set (docs/performance.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startTwin } from './portal.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'tilleuls-demo-2026';
const TOWN = 'villeneuve-les-tilleuls';
const NNBSP = '\u202f';
const skip = !process.env.EF_STACK_BIN && !process.env.EF_REQUIRE_STACK && 'no EF_STACK_BIN (the stack twin)';

let browser;
let twin;
before(async () => {
  if (skip) return;
  assert.ok(process.env.EF_STACK_BIN, 'EF_STACK_BIN names the espace-famille-stack binary (EF_REQUIRE_STACK is set)');
  [twin, browser] = await Promise.all([
    startTwin(),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] }),
  ]);
});
after(async () => {
  if (twin) {
    const stats = await (await fetch(`${twin.url}/__stack/stats`)).json();
    console.log(summary(stats));
    if (process.env.EF_STACK_STATS) writeFileSync(process.env.EF_STACK_STATS, JSON.stringify(stats, null, 1));
  }
  await browser?.close();
  await twin?.stop();
});

/** The twin's figures as the two tables of docs/performance.md. */
function summary({ functions, routes }) {
  const lines = ['| function | processes started | invocations | to the first `next` (ms) | first invocation (ms) |', '| --- | --- | --- | --- | --- |'];
  for (const [name, c] of Object.entries(functions)) {
    if (c.invocations) lines.push(`| ${name} | ${c.cold_starts} | ${c.invocations} | ${c.init_ms.join(', ')} | ${c.first_invocation_ms.join(', ')} |`);
  }
  lines.push('', '| route | requests | p50 (ms) | p95 (ms) | answers |', '| --- | --- | --- | --- | --- |');
  for (const [route, r] of Object.entries(routes)) lines.push(`| ${route} | ${r.requests} | ${r.p50_ms} | ${r.p95_ms} | ${Object.entries(r.statuses).map(([s, n]) => `${n} × ${s}`).join(', ')} |`);
  return lines.join('\n');
}

/** A page whose every Content-Security-Policy violation and script error is recorded. The
 * twin's HTTPS endpoint for AWS has a certificate of its own: the browser accepts it, as it
 * accepts S3's. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', ignoreHTTPSErrors: true });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const check = async () => {
    assert.deepEqual((await page.evaluate(() => window.__cspViolations)) ?? [], [], 'no Content-Security-Policy violation');
    assert.deepEqual(errors, [], 'no script error');
  };
  return { context, page, check };
}

async function logIn(page, email, name) {
  await page.goto(`${twin.url}/connexion.html`);
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(PASSWORD);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText(`Connecté(e) : ${name}`).waitFor();
}

async function message(page, text) {
  await page.locator('#message').filter({ hasText: text }).waitFor();
}

/** Status and type of what a link of the page downloads, fetched by the page itself. */
async function download(page, link) {
  return page.evaluate(async (href) => {
    const r = await fetch(href);
    const bytes = new Uint8Array(await r.arrayBuffer());
    return [r.status, r.headers.get('content-type'), String.fromCharCode(...bytes.subarray(0, 5))];
  }, await link.getAttribute('href'));
}

/** Today in Paris, and the Monday of the week before, as `YYYY-MM-DD`. */
function lastMonday() {
  const today = new Date(`${new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date())}T12:00:00Z`);
  const monday = new Date(today.getTime() - (((today.getUTCDay() + 6) % 7) + 7) * 86_400_000);
  return monday.toISOString().slice(0, 10);
}

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(20_000, 'x'), Buffer.from('\n%%EOF\n')]);

/** `YYYY-MM` of `back` months before this one. */
function monthsBack(back) {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
}

/** The month the agent's attendance fell in, which the administrator then bills. */
let walkInMonth = null;

test('an agent takes attendance: a child present without a booking, then the list saved', { skip }, async () => {
  const { context, page, check } = await newPage();
  try {
    await logIn(page, 'agent@villeneuve-les-tilleuls.fr', 'Karim Benali');
    await page.goto(`${twin.url}/mairie.html`);
    // A canteen day two months back or more (last month is billed by the demo, its attendance
    // closed): Léa came without a booking. The first Tuesday the canteen takes her (none in the
    // summer holidays).
    const walkIn = page.locator('#liste-pointage form.fiche');
    let added = null;
    const days = [2, 3, 4, 5].flatMap((back) => Array.from({ length: 28 }, (_, d) => `${monthsBack(back)}-${String(d + 1).padStart(2, '0')}`));
    for (const date of days) {
      if (added) break;
      if (new Date(`${date}T12:00:00Z`).getUTCDay() !== 2) continue;
      await page.getByLabel('Jour', { exact: true }).fill(date);
      await page.locator('#prestation').selectOption('cantine');
      // (The list of the day shown first is replaced once this one is read.)
      const list = page.waitForResponse((r) => r.url().includes(`/staff/attendance?date=${date}`));
      await page.getByRole('button', { name: 'Afficher la liste' }).click();
      await list;
      await page.locator('#liste-pointage').getByText('Un enfant présent sans réservation').waitFor();
      await walkIn.getByLabel('Enfant (nom ou prénom)').fill('léa');
      await walkIn.getByText('1 enfant trouvé.').waitFor();
      await walkIn.getByLabel('Enfant choisi').selectOption({ label: 'Léa Martin – Famille Martin' });
      await walkIn.getByRole('button', { name: 'Ajouter comme présent(e)' }).click();
      await page.locator('#message').filter({ hasText: /\S/ }).waitFor();
      if (/Léa Martin est ajouté\(e\) à la liste, présent\(e\)/.test(await page.locator('#message').textContent())) added = date;
    }
    assert.ok(added, 'the canteen took Léa on a Tuesday of the months before last');
    walkInMonth = added.slice(0, 7);
    const lea = page.getByRole('group', { name: 'Présence de Léa Martin' });
    assert.equal(await lea.getByRole('radio', { name: 'Présent', exact: true }).isChecked(), true);
    await page.getByRole('button', { name: 'Enregistrer le pointage' }).click();
    await message(page, 'Pointage enregistré (1 enfant)');
    console.log(`attendance taken through the twin: ${added}`);
    await check();
  } finally {
    await context.close();
  }
});

test('the administrator bills a month and publishes it', { skip }, async () => {
  const { context, page, check } = await newPage();
  try {
    await logIn(page, 'mairie@villeneuve-les-tilleuls.fr', 'Nadia Roux');
    await page.goto(`${twin.url}/mairie.html#facturation`);
    // The month of Léa's canteen day the agent added, published today.
    assert.ok(walkInMonth, 'the agent added Léa first');
    await page.getByLabel('Mois', { exact: true }).fill(walkInMonth);
    await page.locator('#choix-facturation').getByRole('button', { name: 'Aperçu' }).click();
    const state = page.locator('#etat-facturation');
    await state.filter({ hasText: `${NNBSP}: à facturer.` }).waitFor();
    await page.getByText(`Aperçu${NNBSP}: 1 facture,`).waitFor();
    await page.getByRole('cell', { name: 'Famille Martin' }).waitFor();
    const label = new Intl.DateTimeFormat('fr-FR', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${walkInMonth}-01T00:00:00Z`));
    await page.getByRole('button', { name: `Facturer ${label}`, exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: `Facturer ${label}`, exact: true }).click();
    await state.filter({ hasText: /facturé le .*, pas encore publié\. 1 facture émise/ }).waitFor();
    await page.getByRole('button', { name: `Publier ${label}`, exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: `Publier ${label}`, exact: true }).click();
    await state.filter({ hasText: /facturé le .*, publié le / }).waitFor();
    await check();
  } finally {
    await context.close();
  }
});

test('a parent books and validates a day, sends a document, pays her invoice through PayFiP and downloads it', { skip }, async () => {
  const { context, page, check } = await newPage();
  try {
    await logIn(page, 'sophie.martin@exemple.fr', 'Sophie Martin');
    // The first free day she can still book, from today's grid on.
    await page.goto(`${twin.url}/reservations.html`);
    await page.locator('table.grille-semaine').first().waitFor();
    const free = page.locator('table.grille-semaine input[type=checkbox]:not([disabled]):not(:checked)');
    for (let i = 0; i < 6 && (await free.count()) === 0; i += 1) {
      const heading = await page.locator('h2').first().textContent();
      await page.getByRole('button', { name: 'Suivant' }).click();
      await page.locator('h2').first().filter({ hasNotText: heading }).waitFor();
      await page.locator('table.grille-semaine').first().waitFor();
    }
    const day = free.first();
    const label = await day.getAttribute('aria-label') ?? await day.evaluate((b) => b.labels?.[0]?.textContent ?? '');
    await day.check();
    await page.locator('#message-grille').filter({ hasText: 'réservation ajoutée au panier' }).waitFor();
    await page.goto(`${twin.url}/panier.html`);
    await page.getByRole('button', { name: 'Valider mon panier' }).click();
    await page.getByText(/Votre panier est validé\s: 1\sligne enregistrée/).waitFor();
    console.log(`booked and validated through the twin: ${label}`);

    // A document, straight to the bucket (a presigned PUT to the twin's S3 over HTTPS, as the
    // template's CSP allows it), then confirmed by the documents function.
    await page.goto(`${twin.url}/demandes.html`);
    await page.getByText('Vous n’avez envoyé aucun document.').waitFor();
    await page.getByLabel('Type de document').selectOption({ label: 'Dossier d’inscription annuel' });
    await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'dossier.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator('#message-envoi').filter({ hasText: '« dossier.pdf » est envoyé' }).waitFor();
    await page.getByRole('cell', { name: 'Demande en cours' }).waitFor();

    // The invoice the administrator just published (Léa's canteen day): its PDF, then paid
    // online.
    await page.goto(`${twin.url}/factures.html`);
    const monthName = new Intl.DateTimeFormat('fr-FR', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${walkInMonth}-01T00:00:00Z`));
    const invoice = page.getByText(new RegExp(`Facture n° \\S+ – ${monthName} – [\\d,]+.€`, 'i')).first();
    const title = await invoice.textContent();
    const number = title.match(/Facture n° (\S+)/)[1];
    await invoice.click();
    assert.deepEqual(await download(page, page.getByRole('link', { name: `Télécharger la facture n° ${number} (PDF)` })), [200, 'application/pdf', '%PDF-']);
    await page.getByRole('button', { name: /Payer en ligne/ }).click();
    await page.getByRole('heading', { name: /PayFiP \(simulateur\)/ }).waitFor();
    await page.getByRole('button', { name: 'Payer', exact: true }).click();
    await message(page, 'Votre paiement est enregistré');
    const receipt = page.getByRole('link', { name: /quittance n° \S+ \(PDF\)/ });
    await receipt.waitFor();
    assert.deepEqual(await download(page, receipt), [200, 'application/pdf', '%PDF-']);
    await page.getByText(new RegExp(`Facture n° ${number} – .* – Payée`)).waitFor();
    await check();
  } finally {
    await context.close();
  }
});

