import {
  AdHocVariableFilter,
  CoreApp,
  CustomVariableSupport,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Observable } from 'rxjs';

import { AnnotationQueryEditor, DEFAULT_ANNOTATION } from './components/AnnotationQueryEditor';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { migrateQuery } from './queries';
import { ALL, Choice, DEFAULT_QUERY, Meta, SaasOptions, SaasQuery, VariableQuery } from './types';

export class DataSource extends DataSourceWithBackend<SaasQuery, SaasOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<SaasOptions>) {
    super(instanceSettings);
    this.variables = new SaasVariableSupport(this);
    // Annotations run as queries of the annotations type; Grafana maps
    // the frame's time, timeEnd, title, text and tags fields to events.
    this.annotations = {
      QueryEditor: AnnotationQueryEditor,
      prepareAnnotation: (annotation) => ({ ...annotation, target: annotation.target ?? DEFAULT_ANNOTATION }),
    };
  }

  getDefaultQuery(_: CoreApp): Partial<SaasQuery> {
    return DEFAULT_QUERY;
  }

  /**
   * Expands variables and hands the dashboard's ad hoc filters to the
   * backend inside the query, which applies them: what a panel shows,
   * an alert rule over the same query sees.
   */
  applyTemplateVariables(saved: SaasQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): SaasQuery {
    const srv = getTemplateSrv();
    const query = migrateQuery(saved);
    // Every list of strings is a filter (services, vendors, kinds, ...):
    // whichever the backend adds, its variables expand.
    const out: Record<string, unknown> = { ...query };
    if (filters?.length) {
      out.adhocFilters = filters.map((f) => ({
        key: f.key,
        operator: f.operator,
        value: srv.replace(f.value, scopedVars),
        ...(f.values ? { values: expandList(f.values, srv, scopedVars) } : {}),
      }));
    }
    for (const [key, value] of Object.entries(query)) {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
        out[key] = expandList(value, srv, scopedVars);
      }
    }
    if (query.queryType === 'sql' && query.rawSql !== undefined) {
      out.rawSql = srv.replace(query.rawSql, scopedVars, sqlQuote);
    }
    return out as unknown as SaasQuery;
  }

  /** The keys a dashboard's ad hoc filter may narrow by, as the backend names them. */
  getTagKeys(_options?: DataSourceGetTagKeysOptions<SaasQuery>): Promise<MetricFindValue[]> {
    return this.getResource('tagKeys');
  }

  /** The values a key takes over the dashboard's range. */
  getTagValues(options: DataSourceGetTagValuesOptions<SaasQuery>): Promise<MetricFindValue[]> {
    return this.getResource('tagValues', { key: options.key, ...rangeParams(options.timeRange) });
  }

  filterQuery(query: SaasQuery): boolean {
    if (query.hide) {
      return false;
    }
    return query.queryType !== 'sql' || (query.rawSql ?? '').trim() !== '';
  }

  /** A list the backend offers (services, clients, vendors, ...; meta names them) over a range. */
  getList(name: string, range?: TimeRange): Promise<Choice[]> {
    return this.getResource(name, rangeParams(range));
  }

  private metaRequest?: Promise<Meta>;

  /** What the editors know of the backend, asked once per datasource. */
  getMeta(): Promise<Meta> {
    if (!this.metaRequest) {
      this.metaRequest = this.getResource<Meta>('meta');
      this.metaRequest.catch(() => (this.metaRequest = undefined));
    }
    return this.metaRequest;
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
