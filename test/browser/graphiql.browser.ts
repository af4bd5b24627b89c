/**
 * GraphiQL in a real browser (Debian's chromium, no network): the page loads from this server only
 * and runs the README's query with a token. Run with `npm run test:browser`; .ci/run installs chromium.
 */
import { chromium, type Browser } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/server.js';
import { admin } from '../helpers/tokens.js';

let svc: TestService;
let browser: Browser;

beforeAll(async () => {
  svc = await startTestService('browser');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

test('GraphiQL loads offline and runs the README query with a pasted token', async () => {
  const token = await admin('t1');
  await svc.ok(`mutation { createConnector(input: { name: "Browser demo", provider: "generic_rest", config: { baseUrl: "https://api.example.com" } }) { id } }`, {}, token);
  const page = await browser.newPage();
  const outside: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(svc.url)) outside.push(request.url());
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript((headers) => {
    // Runs in the page: GraphiQL reads its persisted editors from localStorage.
    const { localStorage } = globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } };
    localStorage.setItem('graphiql:headers', headers);
    localStorage.setItem('graphiql:query', '{ connectors(first: 10) { totalCount nodes { name provider enabled syncStatus } } }');
  }, JSON.stringify({ Authorization: `Bearer ${token}` }));
  await page.goto(`${svc.url}/graphql`);
  await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
  await page.click('.graphiql-execute-button');
  await page.waitForSelector('.result-window:has-text("Browser demo")', { timeout: 20_000 });
  const result = await page.textContent('.result-window');
  expect(result).toContain('"totalCount": 1');
  await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT ?? '/tmp/graphiql.png' });
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
});
