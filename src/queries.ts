import { DataQuery } from '@grafana/schema';

import { QUERY_VERSION, QueryOf, QueryType, SaasQuery } from './types';

const filters = ['services', 'clients', 'devices', 'vendors', 'products', 'categories', 'kinds', 'users', 'departments'] as const;

/**
 * The options each query type reads, in the order the backend's meta lists
 * them (a test holds the two equal). A query keeps only its type's options:
 * switching types and migrating saved queries drop the others.
 */
export const queryOptions: { [T in QueryType]: ReadonlyArray<Exclude<keyof QueryOf<T>, keyof DataQuery | 'version' | 'adhocFilters'>> } = {
  usage: ['metric', 'topN', 'groupBy', ...filters],
  latency: ['measure', 'percentiles', 'view', 'groupBy', 'topN', ...filters],
  licences: ['idleDays', 'renewalDays'],
  shadowIT: ['limit', ...filters],
  unclassified: ['limit', ...filters],
  monthOverMonth: ['groupBy', 'limit', ...filters],
  devices: ['groupBy', 'limit', ...filters],
  geo: ['groupBy', 'limit', ...filters],
  serverNames: ['groupBy', 'limit', ...filters],
  streams: ['limit', ...filters],
  sql: ['rawSql', 'format'],
  alert: ['signal', ...filters],
  variable: ['variable'],
  annotations: ['events', 'gapMinutes'],
};

/** What a query keeps whatever its type: Grafana's own fields and the model's. */
const common = ['refId', 'hide', 'key', 'datasource', 'queryType', 'version', 'adhocFilters'];

export function isQueryType(name: unknown): name is QueryType {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(queryOptions, name);
}

function keep(saved: Record<string, unknown>, type: QueryType): Record<string, unknown> {
  const reads = new Set<string>([...common, ...queryOptions[type]]);
  return Object.fromEntries(Object.entries(saved).filter(([k, v]) => reads.has(k) && v !== undefined));
}

/**
 * Brings a saved query to the current model. The first model (no version)
 * had no type when it was usage, and every query carried whatever options
 * the editor had set for any type: a latency panel saved with usage's metric.
 * The backend ignored those; the model keeps each type's own. A query of a
 * type this frontend does not know is left for the backend to refuse.
 */
export function migrateQuery(saved: DataQuery): SaasQuery {
  const q = saved as DataQuery & Record<string, unknown>;
  if (typeof q.version === 'number' && q.version >= QUERY_VERSION) {
    return saved as SaasQuery;
  }
  const type = q.queryType ?? 'usage';
  if (!isQueryType(type)) {
    return { ...q, queryType: type, version: QUERY_VERSION } as unknown as SaasQuery;
  }
  return { ...keep(q, type), queryType: type, version: QUERY_VERSION } as unknown as SaasQuery;
}

/** The query as the given type: what both types read (filters, a grouping, a limit) carries over. */
export function switchType(query: SaasQuery, type: QueryType): SaasQuery {
  return { ...keep(query as unknown as Record<string, unknown>, type), queryType: type, version: QUERY_VERSION } as unknown as SaasQuery;
}
