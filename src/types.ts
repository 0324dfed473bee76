import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** A query type's name, as the backend's meta resource lists them (usage, latency, sql, ...). */
export type QueryType = string;
export type Kind = 'saas' | 'infra' | 'unknown';

/** A panel query; the backend's plugin.Query reads the same JSON. */
export interface SaasQuery extends DataQuery {
  queryType?: QueryType;
  metric?: string;
  topN?: number;
  measure?: string;
  percentiles?: number[];
  view?: 'time' | 'dayOfMonth';
  groupBy?: string;
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
  limit?: number;
  /** licences: days without use that make a contract a cancellation candidate (30) */
  idleDays?: number;
  /** licences: days ahead in which a renewal is due (60) */
  renewalDays?: number;
  rawSql?: string;
  format?: 'table' | 'time_series';
  variable?: string;
}

export const DEFAULT_QUERY: Partial<SaasQuery> = {
  queryType: 'usage',
  metric: 'bytes',
  topN: 10,
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
