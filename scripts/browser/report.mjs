// Opens a SaaSLens report in Debian's Chromium (playwright-core drives it;
// no browser is downloaded), as a mail client's browser would: it records
// every request the page makes, prints it to A4 PDF and keeps a screenshot
// of the first page. Usage: node report.mjs REPORT.html OUTDIR
// Prints one JSON line: {"requests": [...], "pages": N, "pdf": ..., "screenshot": ...}.
import { chromium } from 'playwright-core';
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, outDir] = process.argv.slice(2);
if (!file || !outDir) {
  console.error('usage: node report.mjs REPORT.html OUTDIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const url = pathToFileURL(resolve(file)).href;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 820, height: 1160 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(url, { waitUntil: 'load' });
  const screenshot = join(outDir, 'report-first-page.png');
  await page.screenshot({ path: screenshot });
  await page.emulateMedia({ media: 'print' });
  const pdfPath = join(outDir, 'report.pdf');
  const pdf = await page.pdf({ path: pdfPath, format: 'A4', printBackground: true });
  // Each page of the PDF is one /Type /Page object (not /Pages, the tree).
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g) ?? []).length;
  const result = { requests: requests.filter((r) => r !== url), violations, pages, pdf: pdfPath, screenshot };
  writeFileSync(join(outDir, 'report-browser.json'), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
