/**
 * The operator console in a real browser (Debian's chromium, no network; docs/console.md): an admin
 * signs in with the development button, creates a generic_rest connector from the catalog form
 * against a loopback upstream, tests it, enables it, sees it turn HEALTHY, disables it in one click
 * with a reason and finds that in its audit trail; a version conflict is explained in words; a
 * viewer sees no button; behind a proxy that sets Authorization, the console signs in by itself. axe-core (wcag2a, wcag2aa) finds nothing on the sign-in page, the board,
 * the connector page and the create form. No request leaves the server's origin, no page error, no
 * secret value on any page. Screenshots: docs/images/console-board.png and console-connector.png.
 *
 * Run with `npm run test:browser`; .ci/run installs chromium.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startService, type Service } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/server/logger.js';
import { createTestDatabase } from '../helpers/database.js';
import { LogCapture } from '../helpers/logs.js';
import { TEST_JWT_SECRET, admin, viewer } from '../helpers/tokens.js';
import { startRestUpstream, type RestUpstream } from '../helpers/upstream.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = process.env.CONSOLE_SCREENSHOTS ?? join(ROOT, 'docs', 'images');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TENANT = 'soc-demo';

/** The page's globals these checks read (the project compiles without the DOM library). */
type PageGlobals = { document: { activeElement: { id: string; textContent: string | null } | null } };
const API_KEY = 'sekret-upstream-key-do-not-show-4711';

let svc: Service;
let browser: Browser;
let upstream: RestUpstream;
let badUpstream: RestUpstream;

/** The service as `npm start` runs it in development (workers on, dev sign-in), on a test database. */
async function startConsoleService(): Promise<Service> {
  const config = loadConfig({
    DATABASE_URL: await createTestDatabase('console-browser'),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'connector-console-browser-')),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    EGRESS_ALLOW: '127.0.0.1/32',
    JOB_POLL_MS: '500',
    RATE_LIMIT_PER_PRINCIPAL: '1000000',
    RATE_LIMIT_PER_TENANT: '1000000',
    RATE_LIMIT_ANONYMOUS: '1000000',
  });
  // What a development process computes (no configured secret or database, config.ts); the test
  // keeps its own database and secret.
  config.http.consoleDevSignIn = true;
  return startService(config, createLogger(config.logLevel, new LogCapture()));
}

async function api<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const res = await fetch(`${svc.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A page that records every request leaving the origin and every page error. */
async function openPage(): Promise<{ page: Page; outside: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(svc.url)) outside.push(request.url());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // The one expected refusal: before sign-in the page asks `me` without a token (a reverse proxy
    // may add one), and the API answers 401.
    if (message.type() === 'error' && !(message.text().includes('status of 401') && message.location().url.endsWith('/graphql'))) errors.push(`${message.text()} (${message.location().url})`);
  });
  return { page, outside, errors };
}

/** axe-core's WCAG 2 A and AA rules on the page as it is: the violations, by rule and target. */
async function axe(page: Page, what: string): Promise<string[]> {
  // Evaluated over the DevTools protocol: the page's CSP (no inline script) stays as it is.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: { run(ctx: unknown, options: unknown): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    return run.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return result.violations.map((v) => `${what}: ${v.id} (${v.help}) at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

async function noSecretOn(page: Page): Promise<void> {
  const html = await page.content();
  expect(html).not.toContain(API_KEY);
  // Nor in any input the page still holds.
  const values = await page.$$eval('input, textarea', (inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  expect(values).not.toContain(API_KEY);
}

beforeAll(async () => {
  upstream = await startRestUpstream({
    apiKey: API_KEY,
    records: Array.from({ length: 24 }, (_, i) => ({ id: `ioc-${i}`, title: `Indicator 203.0.113.${i}`, severity: (i % 10) + 0.5, seen: `2026-11-30T10:${String(i).padStart(2, '0')}:00Z` })),
  });
  badUpstream = await startRestUpstream();
  badUpstream.failAlways(503);
  svc = await startConsoleService();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(IMAGES, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await svc?.close();
  await upstream?.close();
  await badUpstream?.close();
});

test('create from the catalog, test, enable, HEALTHY, one-click disable with a reason, in the audit trail', async () => {
  const adminToken = await admin(TENANT);
  // Neighbours on the board: a paused feed and an upstream that fails.
  await api('mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }', { input: { name: 'Partner IOC feed (staging)', provider: 'generic_rest', tags: ['staging'], config: { baseUrl: upstream.url, path: '/items' }, authType: 'API_KEY', credentials: { apiKey: API_KEY } } }, adminToken);
  await api('mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }', { input: { name: 'AlienVault OTX pulses', provider: 'alienvault_otx', tags: ['threat-intel', 'osint'], authType: 'API_KEY', credentials: { apiKey: API_KEY } } }, adminToken);
  const legacy = (await api('mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }', { input: { name: 'Legacy CMDB export', provider: 'generic_rest', tags: ['assets'], enabled: true, config: { baseUrl: badUpstream.url, path: '/items' } } }, adminToken)).createConnector.id;
  // Its upstream answers 503: checks now, rather than waiting for the schedule, take it down.
  for (let i = 0; i < 4; i++) await api('mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus } }', { id: legacy }, adminToken);

  const { page, outside, errors } = await openPage();
  const violations: string[] = [];
  page.setDefaultTimeout(20_000);

  // Sign in for development: the button mints what `npm run token` mints.
  await page.goto(`${svc.url}/console`);
  await page.waitForSelector('h1:has-text("Sign in")');
  violations.push(...(await axe(page, 'sign-in')));
  await page.fill('#dev-tenant', TENANT);
  await page.selectOption('#dev-role', 'admin');
  await page.click('button:has-text("Sign in for development")');
  await page.waitForSelector('h1:has-text("Health board")');
  await page.waitForSelector('text=Legacy CMDB export');

  // Create from the catalog: the form comes from generic_rest's JSON Schemas.
  await page.click('nav >> text=New connector');
  await page.selectOption('#create-provider', 'generic_rest');
  await page.fill('#create-name', 'Threat intel REST feed');
  await page.fill('#create-tags', 'threat-intel, browser');
  // Bad input gets a clear error: created without its base URL, the API names the field.
  await page.click('button:has-text("2. Create without testing")');
  await page.waitForSelector('.create .alert');
  expect(await page.textContent('.create .alert')).toMatch(/baseUrl/);
  await page.fill('#config-baseUrl', upstream.url);
  await page.fill('#config-path', '/items');
  await page.selectOption('#create-auth', 'API_KEY');
  await page.fill('#credential-apiKey', API_KEY);
  expect(await page.getAttribute('#credential-apiKey', 'type')).toBe('password');
  violations.push(...(await axe(page, 'create form')));
  await page.click('button:has-text("1. Test these settings")');
  await page.waitForSelector('section[aria-labelledby="draft-test-title"] >> text=Passed');
  expect(await page.textContent('section[aria-labelledby="draft-test-title"]')).toMatch(/authenticate/);
  await page.click('button:has-text("2. Create (test passed)")');

  // The connector page: test, then enable with a reason.
  await page.waitForSelector('h1:has-text("Threat intel REST feed")');
  const connectorId = decodeURIComponent(page.url().split('#/connector/')[1]!);
  expect(connectorId).toMatch(/^cnn_/);
  await page.waitForSelector('text=Fields set: apiKey (version 1)');
  await page.click('button:has-text("Test connection")');
  await page.waitForSelector('section[aria-labelledby="test-title"] >> text=Passed');
  const steps = await page.$$eval('section[aria-labelledby="test-title"] tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
  expect(steps.map((s) => s.split(/passed|failed/)[0])).toEqual(['connect', 'authenticate', 'sample query', 'validate format']);
  await page.click('.actions button:has-text("Enable")');
  await page.fill('#toggle-reason', 'upstream verified, going live');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.dialog button:has-text("Close")');
  await page.click('.dialog button:has-text("Close")');

  // Health turns HEALTHY (the enabling check, or "Check health now").
  const deadline = Date.now() + 45_000;
  while (!(await page.$('.facts .badge-healthy'))) {
    if (Date.now() > deadline) throw new Error(`not HEALTHY: ${await page.textContent('.facts')}`);
    if (await page.isEnabled('button:has-text("Check health now")')) await page.click('button:has-text("Check health now")');
    await page.waitForTimeout(1500);
  }
  // Its first run stores the upstream's records.
  await page.waitForSelector('h2:has-text("Recent records (24)")', { timeout: 45_000 });
  await page.waitForSelector('section[aria-labelledby="runs-title"] >> text=succeeded');
  await noSecretOn(page);
  violations.push(...(await axe(page, 'connector page')));

  // The board: health badges (PAUSED grey), run state, records, filters; screenshot.
  await page.click('nav >> text=Health board');
  const row = `tr[data-connector="${connectorId}"]`;
  await page.waitForSelector(`${row} .badge-healthy`);
  await page.waitForSelector('tr:has-text("Legacy CMDB export") .badge-failing');
  expect(await page.$('tr:has-text("Partner IOC feed") .badge-paused')).not.toBeNull();
  await page.waitForSelector(`${row} td.num:has-text("24")`);
  violations.push(...(await axe(page, 'board')));
  await page.screenshot({ path: join(IMAGES, 'console-board.png'), fullPage: true });
  // Filters: by tag, then by health status.
  await page.fill('#filter-tag', 'threat-intel');
  await page.press('#filter-tag', 'Enter');
  await page.waitForSelector('tr:has-text("Legacy CMDB export")', { state: 'detached' });
  expect(await page.$(row)).not.toBeNull();
  await page.fill('#filter-tag', '');
  await page.press('#filter-tag', 'Enter');
  await page.selectOption('#filter-status', 'FAILING');
  await page.waitForSelector(row, { state: 'detached' });
  await page.waitForSelector('tr:has-text("Legacy CMDB export")');
  await page.selectOption('#filter-status', '');
  await page.waitForSelector(row);

  // One click: Disable on the row, a reason, and the run state moves through STOPPING to STOPPED.
  // A run is in flight when it is pressed: the upstream answers slowly and a sync was asked for.
  upstream.delayMs = 4000;
  await api('mutation($id: ID!) { syncConnector(id: $id) { id } }', { id: connectorId }, adminToken);
  const inFlight = Date.now() + 20_000;
  while (!(upstream.inFlight > 0 && (await api('query($id: ID!) { connector(id: $id) { ingestionRuns(first: 1) { status } } }', { id: connectorId }, adminToken)).connector.ingestionRuns[0]?.status === 'RUNNING')) {
    if (Date.now() > inFlight) throw new Error('no run in flight');
    await page.waitForTimeout(100);
  }
  await page.click(`${row} button:has-text("Disable")`);
  expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)).toBe('toggle-reason');
  await page.fill('#toggle-reason', 'duplicate flood from the upstream');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.dialog .progress .run-stopped');
  expect(await page.textContent('.dialog .progress')).toMatch(/^Run state: running → stopping → stopped$/);
  upstream.delayMs = 0;
  await page.click('.dialog button:has-text("Close")');
  await page.waitForSelector(`${row} .badge-paused`);
  await page.waitForSelector(`${row} button:has-text("Enable")`);

  // Keyboard: Escape closes a dialog and focus returns to the button that opened it.
  await page.focus(`${row} button:has-text("Enable")`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.dialog', { state: 'detached' });
  expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.textContent)).toMatch(/^Enable/);

  // A version conflict in words: someone else changes the connector while the dialog is open.
  await page.click(`${row} button:has-text("Enable")`);
  await api('mutation($id: ID!, $v: Int!) { updateConnector(id: $id, expectedVersion: $v, input: { tags: ["threat-intel", "changed-elsewhere"] }) { version } }',
    { id: connectorId, v: (await api('query($id: ID!) { connector(id: $id) { version } }', { id: connectorId }, adminToken)).connector.version }, adminToken);
  await page.fill('#toggle-reason', 'try again');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.dialog .alert');
  expect(await page.textContent('.dialog .alert')).toMatch(/changed this connector after you loaded it, so nothing was changed \(it is now at version \d+\)/);
  await page.click('.dialog button:has-text("Cancel")');
  expect((await api('query($id: ID!) { connector(id: $id) { enabled } }', { id: connectorId }, adminToken)).connector.enabled).toBe(false);

  // Bulk: two selected, one switch with one reason (toggleConnectors); one was already off.
  await page.check('input[aria-label="Select every threat intel connector"]');
  expect(await page.isChecked('input[aria-label="Select AlienVault OTX pulses"]')).toBe(true);
  await page.uncheck('input[aria-label="Select every threat intel connector"]');
  await page.check('input[aria-label="Select Legacy CMDB export"]');
  await page.check('input[aria-label="Select Partner IOC feed (staging)"]');
  await page.click('button:has-text("Disable selected")');
  await page.fill('#bulk-reason', 'maintenance window');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.dialog [role=status]');
  expect(await page.textContent('.dialog [role=status]')).toMatch(/^1 changed, 1 unchanged, 0 changed by someone else meanwhile, 0 refused/);
  await page.click('.dialog button:has-text("Close")');
  await page.waitForSelector('tr:has-text("Legacy CMDB export") .badge-paused');

  // The audit trail on the connector page: who disabled it, and why.
  await page.click(`${row} a`);
  await page.waitForSelector('li[data-event="CONNECTOR_DISABLED"]');
  const disabled = await page.textContent('li[data-event="CONNECTOR_DISABLED"]');
  expect(disabled).toContain('duplicate flood from the upstream');
  expect(disabled).toContain(`dev@${TENANT}.example (dev-${TENANT})`);
  expect(await page.textContent('li[data-event="CONNECTOR_ENABLED"]')).toContain('upstream verified, going live');
  await page.waitForSelector('svg.chart rect.bar-paused');
  await noSecretOn(page);
  // The page after the story: HEALTHY then PAUSED on the timeline, the disable and its reason on top of the trail.
  await page.screenshot({ path: join(IMAGES, 'console-connector.png'), fullPage: true });

  expect(violations).toEqual([]);
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
}, 240_000);

test('a viewer signed in with a pasted token sees the board and a connector, and no button to press', async () => {
  const { page, outside, errors } = await openPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${svc.url}/console`);
  // A token the API does not accept: said in words, and the sign-in page stays.
  await page.fill('#paste-token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmVkLWVsc2V3aGVyZQ');
  await page.click('button:has-text("Use this token")');
  await page.waitForSelector('.signin .alert:has-text("does not accept this token")');
  await page.fill('#paste-token', `Bearer ${await viewer(TENANT)}`);
  await page.click('button:has-text("Use this token")');
  await page.waitForSelector('h1:has-text("Health board")');
  await page.waitForSelector('text=Threat intel REST feed');
  expect(await page.textContent('.who')).toMatch(/viewer/);
  expect(await page.$$('main button')).toHaveLength(0);
  expect(await page.$$('main input[type=checkbox]')).toHaveLength(0);
  expect(await page.$('nav >> text=New connector')).toBeNull();
  await page.click('a:has-text("Threat intel REST feed")');
  await page.waitForSelector('h2:has-text("Audit trail")');
  expect(await page.$$('main button')).toHaveLength(0);
  // #/new by hand: still the board.
  await page.goto(`${svc.url}/console#/new`);
  await page.waitForSelector('h1:has-text("Health board")');
  await noSecretOn(page);
  expect(await axe(page, 'viewer board')).toEqual([]);
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
}, 120_000);

test('behind a reverse proxy that sets Authorization, the console signs in by itself', async () => {
  const { page, outside, errors } = await openPage();
  page.setDefaultTimeout(20_000);
  // What the proxy does: every request it forwards carries the person's token.
  await page.setExtraHTTPHeaders({ authorization: `Bearer ${await viewer(TENANT, { subject: 'analyst-7', email: 'analyst@soc.example' })}` });
  await page.goto(`${svc.url}/console`);
  await page.waitForSelector('h1:has-text("Health board")');
  expect(await page.textContent('.who')).toMatch(/analyst@soc\.example · tenant soc-demo · viewer/);
  // The token is the proxy's: nothing to sign out of, nothing stored by the page.
  expect(await page.$('.who button')).toBeNull();
  expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
}, 60_000);
