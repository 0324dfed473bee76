import {
  CoreApp,
  CustomVariableSupport,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import { ALL, Choice, DEFAULT_QUERY, SaasOptions, SaasQuery, VariableQuery } from './types';

export class DataSource extends DataSourceWithBackend<SaasQuery, SaasOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<SaasOptions>) {
    super(instanceSettings);
    this.variables = new SaasVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<SaasQuery> {
    return DEFAULT_QUERY;
  }

  applyTemplateVariables(query: SaasQuery, scopedVars: ScopedVars): SaasQuery {
    const srv = getTemplateSrv();
    return {
      ...query,
      services: expandList(query.services, srv, scopedVars),
      clients: expandList(query.clients, srv, scopedVars),
      devices: expandList(query.devices, srv, scopedVars),
      vendors: expandList(query.vendors, srv, scopedVars),
      products: expandList(query.products, srv, scopedVars),
      categories: expandList(query.categories, srv, scopedVars),
      users: expandList(query.users, srv, scopedVars),
      departments: expandList(query.departments, srv, scopedVars),
      rawSql: query.rawSql === undefined ? undefined : srv.replace(query.rawSql, scopedVars, sqlQuote),
    };
  }

  filterQuery(query: SaasQuery): boolean {
    if (query.hide) {
      return false;
    }
    return query.queryType !== 'sql' || (query.rawSql ?? '').trim() !== '';
  }

  getServices(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('services', rangeParams(range));
  }

  getClients(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('clients', rangeParams(range));
  }

  getDevices(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('devices', rangeParams(range));
  }

  getVendors(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('vendors', rangeParams(range));
  }

  getProducts(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('products', rangeParams(range));
  }

  getUsers(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('users', rangeParams(range));
  }

  getDepartments(range?: TimeRange): Promise<Choice[]> {
    return this.getResource('departments', rangeParams(range));
  }

  ingestNow(): Promise<{ message: string }> {
    return this.postResource('ingest');
  }
}

function rangeParams(range?: TimeRange): Record<string, number> | undefined {
  return range ? { from: range.from.valueOf(), to: range.to.valueOf() } : undefined;
}

/**
 * Expands template variables in a filter list: a multi-value variable
 * gives its values as entries, "All" gives ALL (no narrowing).
 */
export function expandList(list: string[] | undefined, srv: TemplateSrv, scopedVars: ScopedVars): string[] | undefined {
  if (!list) {
    return list;
  }
  const out: string[] = [];
  for (const entry of list) {
    const replaced = srv.replace(entry, scopedVars, 'json');
    let values: string[] = [replaced];
    if (replaced.startsWith('[')) {
      try {
        values = (JSON.parse(replaced) as unknown[]).map(String);
      } catch {
        values = [replaced];
      }
    } else if (replaced.startsWith('"')) {
      try {
        values = [String(JSON.parse(replaced))];
      } catch {
        values = [replaced];
      }
    }
    for (const v of values) {
      if (v === '$__all' || v === ALL) {
        return [ALL];
      }
      if (v !== '' && !out.includes(v)) {
        out.push(v);
      }
    }
  }
  return out;
}

/** Formats a variable's value(s) for SQL: each a quoted string literal, comma-separated. */
export function sqlQuote(value: string | string[]): string {
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => `'${String(v).replace(/'/g, "''")}'`).join(',');
}

/** Template variables list services, clients or devices through the backend. */
export class SaasVariableSupport extends CustomVariableSupport<DataSource, VariableQuery, SaasQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    const targets: SaasQuery[] = request.targets.map((t) => ({
      refId: t.refId ?? 'variable',
      queryType: 'variable',
      variable: t.variable ?? 'services',
    }));
    return this.datasource.query({ ...request, targets });
  }
}
