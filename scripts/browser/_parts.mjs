import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 820, height: 1300 } });
await page.goto('file://' + process.argv[2]);
const h = await page.evaluate(() => document.body.scrollHeight);
for (let y = 0, i = 0; y < h; y += 1300, i++) {
  await page.screenshot({ path: `${process.argv[3]}-${i}.png`, clip: { x: 0, y, width: 820, height: Math.min(1300, h - y) }, fullPage: true });
}
console.log(h);
await browser.close();
