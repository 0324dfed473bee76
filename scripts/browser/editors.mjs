// Drives the plugin's editors in Debian's Chromium (playwright-core; no
// browser is downloaded) on the host page the Go test serves: the built
// dist/module.js loaded through SystemJS with Grafana's shared libraries,
// its calls answered by the real backend. It does what a user does (change
// settings, pick each query type, pick a service from the list the backend
// offers, type SQL, pick what a variable lists), keeps a screenshot of each
// editor, and writes what the editors emitted to OUTDIR/editors.json for
// the test to check. Usage: node editors.mjs URL OUTDIR
import { chromium } from 'playwright-core';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [url, outDir] = process.argv.slice(2);
if (!url || !outDir) {
  console.error('usage: node editors.mjs URL OUTDIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const result = { console: [], failedRequests: [], screenshots: [], steps: [] };
const harness = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.harness)));

// waitFor polls the harness until pick() returns something, so each step
// waits for what it caused and no longer.
async function waitFor(page, what, pick, timeout = 30000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const h = await harness(page);
    if (h.error) {
      throw new Error(`the host page failed: ${h.error}`);
    }
    const got = pick(h);
    if (got !== undefined) {
      return got;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeout / 1000} s for ${what}`);
    }
    await page.waitForTimeout(100);
  }
}

// A radio button emits nothing when the choice it shows is clicked again:
// the choice shown when nothing is saved goes last, after the others.
function defaultLast(list, name) {
  return [...list.filter((x) => x.name !== name), ...list.filter((x) => x.name === name)];
}

// Grafana's radio buttons lay the input over its label: the input is what
// takes the click.
function radio(scope, label) {
  return scope.getByRole('radio', { name: label, exact: true });
}

// A query type is picked from its menu, as a user picks it.
async function pickType(page, scope, label) {
  await scope.getByRole('combobox', { name: 'Query type', exact: true }).click();
  await page.getByRole('option', { name: new RegExp(`^${label}`) }).click();
}

async function shoot(page, selector, name) {
  const path = join(outDir, `${name}.png`);
  await page.locator(selector).screenshot({ path });
  result.screenshots.push(path);
}

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (m) => {
    // A missing file is reported by the response handler, with its URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      result.console.push(m.text());
    }
  });
  page.on('requestfailed', (r) => result.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) {
      result.failedRequests.push(`${r.url()}: ${r.status()}`);
    }
  });
  await page.goto(url, { waitUntil: 'load' });
  await waitFor(page, 'the editors to render', (h) => (h.ready ? true : undefined));
  const settings = await page.evaluate(() => fetch('/harness/settings.json').then((r) => r.json()));
  const meta = await page.evaluate((uid) => fetch(`/api/datasources/uid/${uid}/resources/meta`).then((r) => r.json()), settings.uid);

  // Settings: a text setting emits as typed; the directories commit on blur.
  const config = page.locator('#config');
  await shoot(page, '#config', 'config-editor');
  await config.getByLabel('Ingest interval', { exact: true }).fill('5m');
  await config.getByLabel('Capture directories', { exact: true }).fill('/var/captures/office\n/var/captures/branch\n');
  await config.getByLabel('Capture directories', { exact: true }).blur();
  await config.getByLabel('Retention days', { exact: true }).fill('90');
  await config.getByLabel('Retention days', { exact: true }).blur();
  await radio(config, '日本語').click();
  const h0 = await harness(page);
  result.steps.push({ step: 'config', jsonData: h0.config.at(-1) });

  // Every query type a panel offers: picking it emits the type and runs it.
  const query = page.locator('#query');
  await waitFor(page, 'the query editor', () => true);
  await query.getByRole('combobox', { name: 'Query type', exact: true }).waitFor();
  for (const type of defaultLast(meta.queryTypes.filter((t) => !t.internal), meta.defaults.queryType)) {
    const runs = (await harness(page)).runs.length;
    await pickType(page, query, type.label);
    const run = await waitFor(page, `the ${type.name} query to run`, (h) => (h.runs.length > runs ? h.runs.at(-1) : undefined));
    const h = await harness(page);
    await shoot(page, '#query', `query-${type.name}`);
    result.steps.push({ step: 'queryType', type: type.name, emitted: h.queries.at(-1), run });
  }

  // A service picked from the list the backend offers.
  const usage = meta.queryTypes.find((t) => t.name === 'usage');
  const before = (await harness(page)).runs.length;
  await pickType(page, query, usage.label);
  await waitFor(page, 'the usage query to run', (h) => (h.runs.length > before ? true : undefined));
  const services = meta.filters.find((f) => f.name === 'services');
  const picker = query.getByLabel(services.label, { exact: true });
  await picker.click();
  const option = page.getByRole('option').first();
  await option.waitFor();
  const offered = await page.getByRole('option').allTextContents();
  const runs = (await harness(page)).runs.length;
  await option.click();
  const pickRun = await waitFor(page, 'the filtered query to run', (h) => (h.runs.length > runs ? h.runs.at(-1) : undefined));
  await page.keyboard.press('Escape');
  await shoot(page, '#query', 'query-usage-filtered');
  result.steps.push({ step: 'filter', offered, emitted: (await harness(page)).queries.at(-1), run: pickRun });

  // SQL in Grafana's CodeEditor (Monaco): completion offers the tables,
  // then the SQL typed is committed when the editor loses focus.
  const sqlType = meta.queryTypes.find((t) => t.name === 'sql');
  await pickType(page, query, sqlType.label);
  const monaco = query.locator('.monaco-editor').first();
  await monaco.waitFor({ timeout: 30000 });
  await monaco.locator('.view-lines').click();
  await page.keyboard.type('SELECT * FROM stre');
  await page.keyboard.press('Control+Space');
  const suggestion = page.locator('.suggest-widget .monaco-list-row');
  await suggestion.first().waitFor();
  const completions = await suggestion.allTextContents();
  await shoot(page, '#query', 'query-sql-completion');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  const sql = 'SELECT server_name, count(*) AS streams FROM streams WHERE $__timeFilter(first) GROUP BY server_name ORDER BY streams DESC LIMIT 5';
  // Typed as a user types it; Monaco closes brackets and types over them.
  await page.keyboard.type(sql);
  await page.keyboard.press('Escape');
  const sqlRuns = (await harness(page)).runs.length;
  await page.locator('#query h2').click();
  const sqlRun = await waitFor(page, 'the SQL query to run', (h) => (h.runs.length > sqlRuns ? h.runs.at(-1) : undefined));
  await shoot(page, '#query', 'query-sql-typed');
  result.steps.push({ step: 'sql', completions, emitted: (await harness(page)).queries.at(-1), run: sqlRun });

  // Each list a template variable can take.
  const variable = page.locator('#variable');
  for (const v of defaultLast(meta.variables, meta.defaults.variable)) {
    const n = (await harness(page)).variableValues.length;
    await radio(variable, v.label).click();
    const values = await waitFor(page, `the ${v.name} variable's values`, (h) => (h.variableValues.length > n ? h.variableValues.at(-1) : undefined));
    result.steps.push({ step: 'variable', name: v.name, emitted: (await harness(page)).variables.at(-1), values });
  }
  await shoot(page, '#variable', 'variable-editor');

  // A dashboard's ad hoc filter: its keys and a key's values as Grafana
  // asks for them, then a panel's query run with "department = <one>".
  const tagKeys = await page.evaluate(() => window.harnessApi.tagKeys());
  const tagValues = await page.evaluate(() => window.harnessApi.tagValues('department'));
  const department = tagValues.find((v) => !v.text.startsWith('(')) ?? tagValues[0];
  const filters = [{ key: 'department', operator: '=', value: department.value ?? department.text }];
  await page.evaluate((f) => window.harnessApi.runWithFilters({ refId: 'A', queryType: 'usage', groupBy: 'user', version: 2 }, f), filters);
  const adhocRun = await waitFor(page, 'the ad hoc filtered query', (h) => h.adhocRuns.at(-1));
  result.steps.push({ step: 'adhoc', tagKeys, tagValues, filters, run: adhocRun });

  // A dashboard annotation: each kind of event, run as Grafana runs it.
  const annotation = page.locator('#annotation');
  for (const e of defaultLast(meta.enums.events.map((x) => ({ name: x.value, label: x.label })), meta.defaults.events)) {
    const n = (await harness(page)).annotationRuns.length;
    await radio(annotation, e.label).click();
    const run = await waitFor(page, `the ${e.name} annotations`, (h) => (h.annotationRuns.length > n ? h.annotationRuns.at(-1) : undefined));
    result.steps.push({ step: 'annotation', name: e.name, emitted: (await harness(page)).annotations.at(-1), run });
  }
  await shoot(page, '#annotation', 'annotation-editor');

  // The bundled dashboards' time series and tables, drawn with Grafana's
  // panel components over the sample captures.
  for (const uid of ['saaslens-overview', 'saaslens-performance', 'saaslens-licences', 'saaslens-devices']) {
    await page.goto(`${url}?dashboard=${uid}`, { waitUntil: 'load' });
    await waitFor(page, `the ${uid} dashboard`, (h) => (h.dashboardReady ? true : undefined));
    await page.waitForTimeout(500); // uPlot draws on the next frame
    await shoot(page, '#dashboard', `dashboard-${uid}`);
    result.steps.push({ step: 'dashboard', name: uid, errors: (await harness(page)).dashboardErrors });
  }
} catch (err) {
  result.failure = String(err?.stack ?? err);
} finally {
  await browser.close();
}
writeFileSync(join(outDir, 'editors.json'), JSON.stringify(result, null, 2));
console.log(JSON.stringify({ failure: result.failure, steps: result.steps.length, console: result.console.length }));
process.exit(result.failure ? 1 : 0);
