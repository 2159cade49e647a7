import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { describe, expect, inject, it } from 'vitest';
import { createRuntime } from '../../lib/app/runtime.js';
import { DiscoveryRunLog } from '../../lib/discovery/run-log.js';
import { WatermarkStore } from '../../lib/discovery/watermark-store.js';
import { silentLogger } from '../../lib/log.js';
import { DeliveryLog, StatusLog } from '../../lib/statuslog/status-log.js';
import { readAppVersion } from '../../lib/statuspage/app-version.js';
import { collectConnectorStatus, type StatusSources } from '../../lib/statuspage/collect.js';
import { DAY_MS, dayOf } from '../../lib/statuspage/history.js';
import { ConnectorStatusSchema } from '../../lib/statuspage/model.js';
import { connectorProperties } from '../../lib/statuspage/properties.js';
import { queueWithPoison } from '../../lib/statuspage/queues.js';
import { renderStatusPage } from '../../lib/statuspage/render.js';

const id = () => randomUUID().replaceAll('-', '').slice(0, 10);
const table = (name: string) =>
  TableClient.fromConnectionString(inject('storageConnection'), name, { allowInsecureConnection: true });
const queues = () => QueueServiceClient.fromConnectionString(inject('storageConnection'));

const settings = {
  DISCOVERY_SCHEDULE: '0 */5 * * * *',
  BACKFILL_DAYS: 30,
  DISCOVERY_OVERLAP_MINUTES: 15,
  MAILBOX_FOLDER: 'LivePerson Conversational Cloud DataParser',
  MAILBOX_MAPPING_BLOB: undefined,
  FALLBACK_MAILBOX: undefined,
  DELIVER_TO_CONSUMERS: false,
  TENANT_DOMAINS: [],
};

function archived(day: string, conversationId: string, version = 'v1') {
  return {
    day,
    conversationId,
    version,
    status: 'archived' as const,
    conversationStart: `${day}T09:00:00.000Z`,
    archivedAt: new Date().toISOString(),
    blobPath: `archive/${conversationId}/${version}.eml`,
    size: 10,
    sha256: 'a'.repeat(64),
    addresses: ['a@x.example'],
    counts: { messages: 1, files: 0, filesAttached: 0, participants: 2 },
  };
}

function sources(
  over: Partial<StatusSources> & { statusTable: TableClient; now: () => number },
): StatusSources {
  const log = new StatusLog(over.statusTable, silentLogger);
  return {
    properties: connectorProperties(settings, {
      accountId: 'acc',
      appVersion: '9.9.9',
      deliveryImportMode: undefined,
      now: over.now(),
    }),
    lastDiscoveryRun: async () => undefined,
    watermark: async () => undefined,
    queues: [],
    entities: (from, to) => log.entities(from, to),
    ...over,
  };
}

describe('status page collector (Azurite)', () => {
  it('counts 30 days per day from one scan, and the failures of the last 24 hours with their reasons', async () => {
    const now = Date.now();
    const statusTable = table(`Sp${id()}`);
    const log = new StatusLog(statusTable, silentLogger);
    const today = dayOf(now);
    const d3 = dayOf(now - 3 * DAY_MS);
    const old = dayOf(now - 30 * DAY_MS); // one day before the window
    await log.recordArchived(archived(today, 'c1'));
    await log.recordArchived({ ...archived(today, 'c2'), status: 'partial', reason: 'file too large' });
    await log.recordArchived(archived(d3, 'c3'));
    await log.recordArchived(archived(old, 'c-old'));
    await log.recordFailed({ day: d3, conversationId: 'c4', reason: 'ConversionError: bad <record>' });
    await log.recordFailed({ day: d3, conversationId: 'c5', reason: 'ConversionError: bad <record>' });
    await log.recordFailed({ day: old, conversationId: 'c6', reason: 'outside the window' });
    await log.countDuplicate(today, 'c1', 'v1');
    // Deliveries: one delivered, one delivered without two files (partial import), one failed an hour ago,
    // one failed 30 hours ago (in the day's counts, not in the last 24 hours), one unmapped.
    const ref = (day: string, conversationId: string) => ({ day, conversationId, itemKey: 'v1' });
    const at = (ms: number) => () => new Date(ms);
    const deliveries = new DeliveryLog(statusTable, at(now - 60_000));
    const done = { reason: '', graphMessageIds: ['g1'], parts: 1, attempts: 1 };
    await deliveries.finished(ref(today, 'c1'), 'a@bank.example', {
      ...done,
      status: 'delivered',
      omitted: 0,
    });
    await deliveries.finished(ref(today, 'c1'), 'b@bank.example', {
      ...done,
      status: 'delivered',
      omitted: 2,
    });
    await new DeliveryLog(statusTable, at(now - 3_600_000)).failedAttempt(
      ref(today, 'c2'),
      'a@bank.example',
      'Graph 403 ErrorAccessDenied',
      5,
      true,
    );
    await new DeliveryLog(statusTable, at(now - 30 * 3_600_000)).failedAttempt(
      ref(d3, 'c3'),
      'a@bank.example',
      'Graph 500',
      5,
      true,
    );
    await deliveries.unmapped(ref(d3, 'c3'), 'no participant has a mailbox');

    const status = await collectConnectorStatus(sources({ statusTable, now: () => now }));
    expect(ConnectorStatusSchema.parse(status)).toEqual(status);
    const h = status.history;
    expect(h.days).toHaveLength(30);
    expect(h.from).toBe(dayOf(now - 29 * DAY_MS));
    expect(h.to).toBe(today);
    const byDay = new Map(h.days.map((d) => [d.day, d]));
    expect(byDay.get(today)).toMatchObject({
      archived: 1,
      partial: 1,
      failed: 0,
      duplicates: 1,
      delivered: 2,
      deliveryFailed: 1,
      deliveryPending: 0,
    });
    expect(byDay.get(d3)).toMatchObject({
      archived: 1,
      partial: 0,
      failed: 2,
      delivered: 0,
      deliveryFailed: 2,
    });
    expect(byDay.has(old)).toBe(false);
    const others = h.days.filter((d) => d.day !== today && d.day !== d3);
    expect(others.every((d) => d.archived + d.partial + d.failed + d.delivered === 0)).toBe(true);

    expect(h.failures.archive).toEqual({
      count: 2,
      topReasons: [{ reason: 'ConversionError: bad <record>', count: 2 }],
    });
    expect(h.failures.delivery).toEqual({
      count: 1,
      topReasons: [{ reason: 'Graph 403 ErrorAccessDenied', count: 1 }],
    });
    expect(h.failures.unmapped.count).toBe(1);
    expect(h.error).toBeUndefined();
    expect(h.unreadableRows).toBe(0);
  });

  it('reads the discovery run, the watermark and queue depths (a queue never created reads as such)', async () => {
    const now = Date.now();
    const wmTable = table(`Wm${id()}`);
    const runs = new DiscoveryRunLog(wmTable);
    const marks = new WatermarkStore(wmTable);
    const started = new Date(now - 60 * 60_000).toISOString();
    await runs.record('acc', {
      startedAt: started,
      finishedAt: new Date(now - 59 * 60_000).toISOString(),
      from: new Date(now - 80 * 60_000).toISOString(),
      to: started,
      found: 7,
      enqueued: 5,
      open: 2,
      unreadable: 0,
    });
    await marks.advance('acc', now - 60 * 60_000, undefined);
    const name = `q-${id()}`;
    const q = queues().getQueueClient(name);
    await q.create();
    await q.sendMessage('a');
    await q.sendMessage('b');
    const status = await collectConnectorStatus(
      sources({
        statusTable: table(`Sp${id()}`),
        now: () => now,
        lastDiscoveryRun: () => runs.last('acc'),
        watermark: async () => (await marks.get('acc'))?.value,
        queues: queueWithPoison('archive', name, (n) => queues().getQueueClient(n)),
      }),
    );
    expect(status.discovery.lastRun).toMatchObject({ found: 7, enqueued: 5, open: 2 });
    expect(status.discovery.watermarkLagMs).toBe(60 * 60_000);
    // Scheduled every 5 minutes, last run an hour ago: overdue.
    expect(status.discovery.overdue).toBe(true);
    expect(status.queues).toEqual([
      { name, role: 'archive', exists: true, approximateMessages: 2 },
      { name: `${name}-poison`, role: 'archive-poison', exists: false },
    ]);
    const page = renderStatusPage(status, { log: '/api/log', summary: '/api/log/summary', carry: {} });
    expect(page).toContain('<strong>7</strong> found, <strong>5</strong> queued for archiving, 2 still open');
    expect(page).toContain('that is 1 h behind now');
    expect(page).toContain('Discovery is overdue');
  });

  it('an empty table, no run yet and delivery off give a page of clear sentences', async () => {
    const now = Date.now();
    const status = await collectConnectorStatus(sources({ statusTable: table(`Sp${id()}`), now: () => now }));
    expect(status.discovery).toEqual({ overdue: false });
    expect(status.history.days.every((d) => d.archived + d.failed + d.partial === 0)).toBe(true);
    const page = renderStatusPage(status, { log: '/api/log', summary: '/api/log/summary', carry: {} });
    expect(page).toContain('Discovery has not run yet');
    expect(page).toContain('No items in these 30 days');
    expect(page).toContain('Mailbox delivery is off');
  });

  it('a source that fails becomes a sentence in its section; a table failing midway hides the figures', async () => {
    const now = Date.now();
    const statusTable = table(`Sp${id()}`);
    const log = new StatusLog(statusTable, silentLogger);
    await log.recordArchived(archived(dayOf(now), 'c1'));
    const status = await collectConnectorStatus(
      sources({
        statusTable,
        now: () => now,
        lastDiscoveryRun: async () => {
          throw new Error('table unreachable');
        },
        // The real rows, then the storage connection drops.
        entities: async function* (from, to) {
          yield* log.entities(from, to);
          throw new Error('socket hang up');
        },
        queues: [
          {
            name: 'broken',
            role: 'archive',
            approximateMessages: async () => {
              throw new Error('403 AuthorizationFailure');
            },
          },
        ],
      }),
    );
    expect(status.discovery.error).toBe('last run: table unreachable');
    expect(status.history.error).toBe('socket hang up');
    expect(status.queues[0]).toMatchObject({ name: 'broken', error: '403 AuthorizationFailure' });
    const page = renderStatusPage(status, { log: '/api/log', summary: '/api/log/summary', carry: {} });
    expect(page).toContain('could not be read to the end (socket hang up)');
    expect(page).toContain('could not be read: 403 AuthorizationFailure');
    expect(page).not.toContain('<svg');
  });

  it('reads the app version from the project package.json', () => {
    expect(readAppVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(readAppVersion('/nonexistent/dir/file.js')).toBe('unknown');
  });
});

describe('runtime.statusPage: the two doors', () => {
  const base = () => ({
    AzureWebJobsStorage: inject('storageConnection'),
    LP_ACCOUNT_ID: '4242',
    LP_CLIENT_ID: 'client',
    LP_CLIENT_SECRET: 'secret',
    STATUS_TABLE: `St${id()}`,
    WATERMARK_TABLE: `Wm${id()}`,
    ARCHIVE_QUEUE: `arc-${id()}`,
  });
  const headers = (h: Record<string, string> = {}) => new Headers(h);

  it('sign-in door: refuses without the principal (HTML with the same headers), serves with it', async () => {
    const rt = createRuntime({ ...base(), ADMIN_SIGN_IN: 'entra' });
    const refused = await rt.statusPage(
      { path: '/api/status', query: {}, headers: headers() },
      'sign-in',
      silentLogger,
    );
    expect(refused.status).toBe(401);
    expect(refused.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    expect(String(refused.body)).toContain('<h1>Sign-in required</h1>');
    const principal = Buffer.from(
      JSON.stringify({ claims: [{ typ: 'preferred_username', val: 'admin@bank.example' }] }),
    ).toString('base64');
    const ok = await rt.statusPage(
      { path: '/api/status', query: {}, headers: headers({ 'x-ms-client-principal': principal }) },
      'sign-in',
      silentLogger,
    );
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('href="/api/log?from=');
    expect(String(ok.body)).toContain('<code>4242</code>');
  });

  it('key door: links through /api/automation with the key; delivery on lists its queues and mapping', async () => {
    const rt = createRuntime({
      ...base(),
      ADMIN_SIGN_IN: 'entra',
      GRAPH_TENANT_ID: '11111111-1111-1111-1111-111111111111',
      GRAPH_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
      GRAPH_CLIENT_SECRET: 'not-used',
      GRAPH_IMPORT_MODE: 'json',
      MAILBOX_MAPPING_BLOB: 'mapping/users.csv',
      DELIVERY_QUEUE: `dlv-${id()}`,
      DELIVERY_PLAN_QUEUE: `pln-${id()}`,
      MAILBOX_TABLE: `Mb${id()}`,
    });
    const res = await rt.statusPage(
      { path: '/api/automation/status', query: { code: 'k3y' }, headers: headers() },
      'key',
      silentLogger,
    );
    expect(res.status).toBe(200);
    const page = String(res.body);
    expect(page).toContain('href="/api/automation/log?from=');
    expect(page).toContain('&amp;code=k3y"');
    expect(page).toContain('<input type="hidden" name="code" value="k3y">');
    expect(page).toContain('overridden by the mapping file <code>mapping/users.csv</code>');
    expect(page).toContain('json (message parts through Microsoft Graph)');
    expect(page.match(/<code>(?:dlv|pln)-[a-f0-9]+(?:-poison)?<\/code>/g)).toHaveLength(4);
    expect(page).toMatch(/liveperson-archiver \d+\.\d+\.\d+/);
  });
});
