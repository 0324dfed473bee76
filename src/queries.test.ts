import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

import { migrateQuery, queryOptions, switchType } from './queries';
import { QUERY_VERSION, SaasQuery } from './types';
import meta from './testdata/meta.json';

describe('QUERY_VERSION', () => {
  it('is the version the backend reads up to', () => {
    expect(QUERY_VERSION).toBe(meta.queryVersion);
  });
});

describe('queryOptions', () => {
  it("lists, for every query type, the options the backend's meta says it reads", () => {
    const backend = Object.fromEntries(meta.queryTypes.map((t) => [t.name, t.options]));
    expect(queryOptions).toEqual(backend);
  });
});

describe('migrateQuery', () => {
  it("brings a query saved by the first model's editor to this one", () => {
    // As the first editor emitted it in Chromium after picking Latency on a
    // new panel: usage's defaults rode along.
    expect(migrateQuery({ refId: 'A', queryType: 'latency', metric: 'bytes', topN: 10 } as SaasQuery)).toEqual({
      refId: 'A',
      queryType: 'latency',
      topN: 10,
      version: QUERY_VERSION,
    });
    // A usage panel saved before queryType was written.
    expect(migrateQuery({ refId: 'B', metric: 'clients', services: ['slack.com'], hide: true } as unknown as SaasQuery)).toEqual({
      refId: 'B',
      hide: true,
      queryType: 'usage',
      metric: 'clients',
      services: ['slack.com'],
      version: QUERY_VERSION,
    });
    // An SQL panel that once was a geo panel.
    const datasource = { type: 'saaslens-pcap-datasource', uid: '${datasource}' };
    expect(
      migrateQuery({ refId: 'C', datasource, queryType: 'sql', format: 'table', rawSql: 'SELECT 1', groupBy: 'vendor', limit: 500 } as SaasQuery)
    ).toEqual({ refId: 'C', datasource, queryType: 'sql', format: 'table', rawSql: 'SELECT 1', version: QUERY_VERSION });
  });

  it('leaves a current query, and a type it does not know, for the backend', () => {
    const current: SaasQuery = { refId: 'A', queryType: 'geo', version: QUERY_VERSION, limit: 5 };
    expect(migrateQuery(current)).toBe(current);
    expect(migrateQuery({ refId: 'A', queryType: 'nonsense', x: 1 } as unknown as SaasQuery)).toEqual({
      refId: 'A',
      queryType: 'nonsense',
      x: 1,
      version: QUERY_VERSION,
    });
  });

  it('keeps every option the bundled dashboards set, and migrates each query once', () => {
    const dir = join(__dirname, '..', 'provisioning', 'dashboards');
    type Panel = { title: string; targets?: Array<Record<string, unknown>>; panels?: Panel[] };
    const walk = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...walk(p.panels ?? [])]);
    let seen = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { panels: Panel[] };
      for (const panel of walk(dashboard.panels)) {
        for (const target of panel.targets ?? []) {
          const migrated = migrateQuery(target as unknown as SaasQuery);
          // The dashboards are written with each type's own options only.
          expect([file, panel.title, migrated]).toEqual([file, panel.title, { ...target, version: QUERY_VERSION }]);
          expect(migrateQuery(migrated)).toBe(migrated);
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThan(20);
  });
});

describe('switchType', () => {
  it('carries over what both types read', () => {
    const usage: SaasQuery = { refId: 'A', queryType: 'usage', version: 2, metric: 'bytes', groupBy: 'vendor', topN: 5, vendors: ['Slack'] };
    expect(switchType(usage, 'serverNames')).toEqual({ refId: 'A', queryType: 'serverNames', version: 2, groupBy: 'vendor', vendors: ['Slack'] });
    expect(switchType(usage, 'licences')).toEqual({ refId: 'A', queryType: 'licences', version: 2 });
  });
});
