// Screenshots of the connection form in a real Airflow 3 UI (docs/img/*.png).
// Needs Debian's chromium and `npm install playwright-core`; start an api-server first with
// AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True, then: node docs/img/take_screenshots.js http://127.0.0.1:8080
const { chromium } = require('playwright-core');
const path = require('path');

(async () => {
  const base = process.argv[2] || 'http://127.0.0.1:8080';
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
  });
  // The Apify form with its standard fields, the template-builds form with its extra fields.
  for (const [label, file, extra] of [['Apify', 'connection-form-apify.png', false],
                                      ['Nullspace Template Builds', 'connection-form-template-builds.png', true]]) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
    await page.goto(`${base}/connections`, { waitUntil: 'networkidle' });
    await page.getByText('Add Connection').click();
    await page.waitForTimeout(1000);
    await page.getByRole('combobox').first().click();
    await page.keyboard.type(label);
    await page.waitForTimeout(800);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1000);
    if (extra) {
      await page.getByText('Extra Fields', { exact: true }).click();
      await page.waitForTimeout(800);
    }
    const dialog = page.getByRole('dialog');
    await dialog.screenshot({ path: path.join(__dirname, file) });
    await page.close();
  }
  await browser.close();
})();
