// axe-core on the page as it stands (WCAG 2.1 A and AA), evaluated by the driver rather than
// injected as an inline script the page's Content-Security-Policy would refuse; a violation
// fails the test, naming the page state. One copy for every browser test file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** Runs axe on `page`; `name` says which state of which page, in the failure. */
export async function checkAxe(page, name) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `${name}: accessibility violations`);
}
