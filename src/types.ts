import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type Kind = 'saas' | 'infra' | 'unknown';

/**
 * The version of the query model the editors write. Saved queries without
 * one are the first model's; migrateQuery brings them up to this.
 */
export const QUERY_VERSION = 2;

/** The filter lists a query type may read; the backend's filterOptions. */
export interface Filters {
  services?: string[];
  clients?: string[];
  /** device ids: the client MAC where seen, else the address */
  devices?: string[];
  vendors?: string[];
  /** as grouping by product names them: "Microsoft Teams" */
  products?: string[];
  categories?: string[];
  kinds?: Kind[];
  users?: string[];
  departments?: string[];
}

/** An ad hoc filter of the dashboard, as Grafana hands it to applyTemplateVariables. */
export interface AdhocFilter {
  key: string;
  operator: string;
  value: string;
  values?: string[];
}

/** What every query carries, whatever its type. */
interface Common extends DataQuery {
  version?: number;
  /** The dashboard's ad hoc filters, put in by applyTemplateVariables: the backend applies them. */
  adhocFilters?: AdhocFilter[];
}

export interface UsageQuery extends Common, Filters {
  queryType: 'usage';
  metric?: string;
  topN?: number;
  groupBy?: string;
}

export interface LatencyQuery extends Common, Filters {
  queryType: 'latency';
  measure?: string;
  percentiles?: number[];
  view?: 'time' | 'dayOfMonth';
  groupBy?: string;
  topN?: number;
}

export interface LicencesQuery extends Common {
  queryType: 'licences';
  /** days without use that make a contract a cancellation candidate (30) */
  idleDays?: number;
  /** days ahead in which a renewal is due (60) */
  renewalDays?: number;
}

/** A table whose rows are fixed: shadow IT, unclassified names, streams. */
export interface ListQuery<T extends string> extends Common, Filters {
  queryType: T;
  limit?: number;
}

/** A table with a row per group: month over month, devices, servers abroad, server names. */
export interface GroupedQuery<T extends string> extends Common, Filters {
  queryType: T;
  groupBy?: string;
  limit?: number;
}

export interface SqlQuery extends Common {
  queryType: 'sql';
  rawSql?: string;
  format?: 'table' | 'time_series';
}

/** A template variable's list, as SaasVariableSupport asks the backend for it. */
export interface VariableListQuery extends Common {
  queryType: 'variable';
  variable?: string;
}

/** A number per label set for an alert rule's threshold. */
export interface AlertQuery extends Common, Filters {
  queryType: 'alert';
  signal?: 'newVendorsWithoutContract' | 'licenceUtilisation' | 'handshakeP95' | 'captureAge';
}

/** A dashboard annotation's query: which events to mark. */
export interface AnnotationsQuery extends Common {
  queryType: 'annotations';
  events?: 'newVendors' | 'coverageGaps' | 'captureProblems';
  /** coverage gaps: the shortest stretch without packets marked (10) */
  gapMinutes?: number;
}

/** A panel query, one shape per query type; the backend reads the same JSON, a struct per type. */
export type SaasQuery =
  | UsageQuery
  | LatencyQuery
  | LicencesQuery
  | ListQuery<'shadowIT'>
  | ListQuery<'unclassified'>
  | ListQuery<'streams'>
  | GroupedQuery<'monthOverMonth'>
  | GroupedQuery<'devices'>
  | GroupedQuery<'geo'>
  | GroupedQuery<'serverNames'>
  | SqlQuery
  | AlertQuery
  | VariableListQuery
  | AnnotationsQuery;

export type QueryType = SaasQuery['queryType'];

/** The query of one type. */
export type QueryOf<T extends QueryType> = Extract<SaasQuery, { queryType: T }>;

export const DEFAULT_QUERY: Partial<UsageQuery> = {
  queryType: 'usage',
  metric: 'bytes',
  topN: 10,
  version: QUERY_VERSION,
};

/** The datasource's jsonData; the names are the interface (backend, provisioning, API). */
export interface SaasOptions extends DataSourceJsonData {
  captureDirs?: string[];
  databasePath?: string;
  ingestInterval?: string;
  storePackets?: boolean;
  retentionDays?: number;
  settle?: string;
  contractsFile?: string;
  catalogFile?: string;
  inventoryFile?: string;
  classifierPlugins?: ClassifierPlugin[];
  timeZone?: string;
  homeCountry?: string;
  geoDatabase?: string;
  reportDir?: string;
  reportLanguage?: 'en' | 'ja';
}

/** A classifier plugin the datasource may run; sha256 must match the binary (the datasource refuses one without). */
export interface ClassifierPlugin {
  path: string;
  sha256?: string;
}

/** A picker entry, as the services and clients resources return them. */
export interface Choice {
  text: string;
  value: string;
}

export interface VariableQuery {
  refId: string;
  variable: string;
}

/** What the services or clients filters hold when a variable is at "All". */
export const ALL = '*';

/** A value an option takes, as the backend's meta resource lists it. */
export interface Enum {
  value: string;
  label: string;
  description?: string;
}

/** What the editors know of the backend: its GET meta resource (plugin.Meta). */
export interface Meta {
  /** The query model the backend reads up to: QUERY_VERSION. */
  queryVersion: number;
  queryTypes: Array<{
    name: string;
    label: string;
    description: string;
    frame: 'timeseries' | 'table';
    /** The options (SaasQuery fields) the type reads. */
    options: string[];
    /** The groupings its groupBy takes, when not all. */
    groupings?: string[];
    /** Not offered to panels: the variable editor's. */
    internal?: boolean;
  }>;
  groupings: Array<Enum & { byDevice?: boolean }>;
  /** The filters: each a list of the same name to pick from, or its values. */
  filters: Array<{ name: string; label: string; list?: string; values?: Enum[] }>;
  variables: Array<{ name: string; label: string; description: string }>;
  macros: Array<{ name: string; syntax: string; doc: string }>;
  settings: Array<{ name: string; want: string }>;
  tables: Array<{ name: string; view?: boolean; columns: string[] }>;
  tablesProblem?: string;
  enums: Record<string, Enum[]>;
  /** The options' values when a query leaves them out. */
  defaults: Record<string, unknown>;
}
