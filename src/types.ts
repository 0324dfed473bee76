import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type QueryType =
  | 'usage'
  | 'latency'
  | 'licences'
  | 'shadowIT'
  | 'unclassified'
  | 'monthOverMonth'
  | 'devices'
  | 'geo'
  | 'serverNames'
  | 'streams'
  | 'sql'
  | 'variable';
export type Measure = 'tls' | 'serverRtt' | 'clientRtt' | 'resets' | 'retransmits';
export type Metric = 'streams' | 'bytes' | 'clients' | 'devices';
export type VariableKind =
  | 'services'
  | 'vendors'
  | 'products'
  | 'categories'
  | 'clients'
  | 'devices'
  | 'users'
  | 'departments'
  | 'unclassified';
export type GroupBy = 'service' | 'vendor' | 'product' | 'category' | 'device' | 'user' | 'department';
export type Kind = 'saas' | 'infra' | 'unknown';

/** A panel query; the backend's plugin.Query reads the same JSON. */
export interface SaasQuery extends DataQuery {
  queryType?: QueryType;
  metric?: Metric;
  topN?: number;
  measure?: Measure;
  percentiles?: number[];
  view?: 'time' | 'dayOfMonth';
  groupBy?: GroupBy;
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
  variable?: VariableKind;
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
  variable: VariableKind;
}

/** What the services or clients filters hold when a variable is at "All". */
export const ALL = '*';
