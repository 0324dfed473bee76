// The browser test's host page: it plays the part of Grafana's frontend
// for one datasource plugin. It registers the shared libraries (from this
// project's node_modules, the versions package.json pins) with SystemJS
// under the names the plugin's AMD module asks for, as Grafana's plugin
// loader does, loads the built dist/module.js through SystemJS, and renders
// the plugin's editors with Grafana's theme. Every call the editors make
// goes to the page's own server: the Go test's bridge to the real backend.
//
// What the editors emit is kept in window.harness for the test to read.
import React, { useEffect, useState } from 'react';
import * as ReactNS from 'react';
import * as ReactDOMNS from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaSchema from '@grafana/schema';
import * as grafanaUI from '@grafana/ui';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import { from, lastValueFrom, Observable } from 'rxjs';

declare global {
  interface Window {
    System: {
      set(id: string, module: object): void;
      addImportMap(map: { imports: Record<string, string> }): void;
      import(id: string): Promise<Record<string, unknown>>;
    };
    harness: Harness;
    harnessApi: {
      tagKeys(): Promise<unknown>;
      tagValues(key: string): Promise<unknown>;
      runWithFilters(q: grafanaData.DataQuery, filters: grafanaData.AdHocVariableFilter[]): void;
    };
  }
}

/** What the test reads: each editor's emissions, in order, and each run of a query. */
interface Harness {
  ready: boolean;
  error?: string;
  config: unknown[];
  queries: unknown[];
  variables: unknown[];
  runs: Array<{ query: unknown; skipped?: boolean; error?: string; frames: Array<{ name?: string; fields: string[]; rows: number }> }>;
  variableValues: Array<{ query: unknown; error?: string; values: string[] }>;
  annotations: unknown[];
  annotationRuns: Harness['runs'];
  adhocRuns: Harness['runs'];
  /** The dashboard view: set once every panel has its data; the panels that failed. */
  dashboardReady?: boolean;
  dashboardErrors: string[];
}

/** What the Go test serves at /harness/dashboard/UID.json: a bundled dashboard's panels, variables applied. */
interface DashboardSpec {
  title: string;
  from: number;
  to: number;
  panels: Array<{
    title: string;
    type: string;
    gridPos: { x: number; y: number; w: number; h: number };
    fieldConfig?: grafanaData.FieldConfigSource;
    targets: grafanaData.DataQuery[];
  }>;
}

/** What the Go test serves at /harness/settings.json: the datasource as Grafana would hand it over. */
interface Settings {
  uid: string;
  pluginId: string;
  pluginPath: string;
  jsonData: Record<string, unknown>;
  from: number;
  to: number;
}

window.harness = { ready: false, config: [], queries: [], variables: [], runs: [], variableValues: [], annotations: [], annotationRuns: [], adhocRuns: [], dashboardErrors: [] };

const shared: Record<string, object> = {
  react: ReactNS,
  'react-dom': ReactDOMNS,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/schema': grafanaSchema,
  '@grafana/ui': grafanaUI,
  rxjs: rxjs,
  'rxjs/operators': rxjsOperators,
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
};

// Grafana exposes each shared library as a "package:" URL so that SystemJS
// treats it as already loaded, and maps the bare name a plugin asks for to it.
function registerShared() {
  const imports: Record<string, string> = {};
  for (const [name, module] of Object.entries(shared)) {
    window.System.set(`package:${name}`, module);
    imports[name] = `package:${name}`;
  }
  window.System.addImportMap({ imports });
}

interface FetchOptions {
  url: string;
  method?: string;
  params?: Record<string, unknown>;
  data?: unknown;
  headers?: Record<string, string>;
}

async function call(options: FetchOptions) {
  const url = new URL(options.url, window.location.origin);
  for (const [k, v] of Object.entries(options.params ?? {})) {
    if (v !== undefined) {
      url.searchParams.set(k, String(v));
    }
  }
  const method = options.method ?? 'GET';
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...(options.headers ?? {}) },
    body: method === 'GET' ? undefined : JSON.stringify(options.data ?? {}),
  });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    // a plain-text answer, kept as it is
  }
  const response = { data, status: res.status, statusText: res.statusText, ok: res.ok, headers: res.headers, url: url.href, config: options };
  if (!res.ok) {
    throw response;
  }
  return response;
}

// Grafana's BackendSrv: the plugin's DataSourceWithBackend reaches the
// server only through fetch (queries, resources, health).
const backendSrv = {
  fetch: (options: FetchOptions) => from(call(options)) as Observable<Awaited<ReturnType<typeof call>>>,
  datasourceRequest: (options: FetchOptions) => call(options),
  request: (options: FetchOptions) => call(options).then((r) => r.data),
  get: (url: string, params?: Record<string, unknown>) => call({ url, params }).then((r) => r.data),
  delete: (url: string) => call({ url, method: 'DELETE' }).then((r) => r.data),
  post: (url: string, data?: unknown) => call({ url, method: 'POST', data }).then((r) => r.data),
  patch: (url: string, data?: unknown) => call({ url, method: 'PATCH', data }).then((r) => r.data),
  put: (url: string, data?: unknown) => call({ url, method: 'PUT', data }).then((r) => r.data),
  resolveCancelerIfExists: () => {},
};

// A dashboard without variables: names pass through as typed.
const templateSrv = {
  getVariables: () => [],
  replace: (target?: string) => target ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => {},
};

function describe(err: unknown): string {
  const e = err as { data?: { message?: string; error?: string }; message?: string };
  return String(e?.data?.error ?? e?.data?.message ?? e?.message ?? JSON.stringify(err));
}

async function main() {
  registerShared();
  const settings: Settings = await (await fetch('/harness/settings.json')).json();
  const meta = await (await fetch(`${settings.pluginPath}/plugin.json`)).json();
  const instanceSettings = {
    id: 1,
    uid: settings.uid,
    type: settings.pluginId,
    name: 'SaaSLens',
    meta,
    jsonData: settings.jsonData,
    access: 'proxy',
    readOnly: false,
    rawRef: { uid: settings.uid, type: settings.pluginId },
  } as unknown as grafanaData.DataSourceInstanceSettings;

  grafanaRuntime.setBackendSrv(backendSrv as unknown as grafanaRuntime.BackendSrv);
  grafanaRuntime.setTemplateSrv(templateSrv as unknown as grafanaRuntime.TemplateSrv);

  const module = await window.System.import(`${settings.pluginPath}/module.js`);
  const plugin = (module.plugin ?? (module.default as { plugin?: unknown })?.plugin) as grafanaData.DataSourcePlugin<grafanaData.DataSourceApi>;
  if (!plugin?.DataSourceClass) {
    throw new Error(`module.js exports no datasource plugin (exports: ${Object.keys(module).join(', ')})`);
  }
  const datasource = new plugin.DataSourceClass(instanceSettings);
  grafanaRuntime.setDataSourceSrv({
    getInstanceSettings: () => instanceSettings,
    get: async () => datasource,
    getList: () => [instanceSettings],
    reload: async () => {},
    registerRuntimeDataSource: () => {},
  } as unknown as grafanaRuntime.DataSourceSrv);

  const range = grafanaData.makeTimeRange(grafanaData.dateTime(settings.from), grafanaData.dateTime(settings.to));
  const root = createRoot(document.getElementById('root')!);
  const theme = grafanaData.createTheme({ colors: { mode: 'dark' } });
  const dashboard = new URLSearchParams(window.location.search).get('dashboard');
  root.render(
    <grafanaData.ThemeContext.Provider value={theme}>
      <grafanaUI.GlobalStyles />
      {dashboard ? (
        <DashboardView uid={dashboard} datasource={datasource} theme={theme} />
      ) : (
        <Editors plugin={plugin} datasource={datasource} settings={settings} instanceSettings={instanceSettings} range={range} />
      )}
    </grafanaData.ThemeContext.Provider>
  );
}

type AnyQuery = grafanaData.DataQuery & Record<string, unknown>;

/** A dashboard's request for targets, as Grafana's query runner makes it. */
function dashboardRequest(
  targets: grafanaData.DataQuery[],
  range: grafanaData.TimeRange,
  intervalMs: number,
  maxDataPoints: number,
  requestId: string,
  filters: grafanaData.AdHocVariableFilter[] = []
): grafanaData.DataQueryRequest {
  return {
    targets,
    range,
    rangeRaw: range.raw,
    interval: `${intervalMs / 60_000}m`,
    intervalMs,
    maxDataPoints,
    scopedVars: {},
    filters,
    timezone: 'utc',
    app: grafanaData.CoreApp.Dashboard,
    requestId,
    startTime: Date.now(),
  } as unknown as grafanaData.DataQueryRequest;
}
type AnnotationQuery = AnyQuery;

function Editors(props: {
  plugin: grafanaData.DataSourcePlugin<grafanaData.DataSourceApi>;
  datasource: grafanaData.DataSourceApi;
  settings: Settings;
  instanceSettings: grafanaData.DataSourceInstanceSettings;
  range: grafanaData.TimeRange;
}) {
  const { plugin, datasource, settings, instanceSettings, range } = props;
  const ConfigEditor = plugin.components.ConfigEditor!;
  const QueryEditor = plugin.components.QueryEditor!;
  const VariableEditor = (datasource.variables as { editor?: React.ComponentType<Record<string, unknown>> } | undefined)?.editor;

  const [options, setOptions] = useState(
    () =>
      ({
        ...instanceSettings,
        orgId: 1,
        typeName: 'SaaSLens',
        typeLogoUrl: '',
        url: '',
        user: '',
        database: '',
        basicAuth: false,
        basicAuthUser: '',
        isDefault: true,
        withCredentials: false,
        secureJsonFields: {},
        version: 1,
      }) as unknown as grafanaData.DataSourceSettings
  );
  const [query, setQuery] = useState<AnyQuery>(() => ({ refId: 'A', ...(datasource.getDefaultQuery?.(grafanaData.CoreApp.PanelEditor) ?? {}) }));
  const [variable, setVariable] = useState<AnyQuery>({ refId: 'variable' });
  const queryRef = React.useRef(query);
  queryRef.current = query;

  useEffect(() => {
    window.harness.ready = true;
  }, []);

  const annotationSupport = datasource.annotations;
  const AnnotationEditor = annotationSupport?.QueryEditor as React.ComponentType<Record<string, unknown>> | undefined;
  const [annotation, setAnnotation] = useState<AnnotationQuery | undefined>(
    () => annotationSupport?.prepareAnnotation?.({ name: 'harness', enable: true, iconColor: 'red' } as grafanaData.AnnotationQuery)?.target as AnnotationQuery
  );

  // Runs a query as a dashboard does, with its ad hoc filters, and keeps
  // the query as the datasource sent it (filters put in by
  // applyTemplateVariables) with what came back.
  const runOnce = (q: AnyQuery, into: Harness['runs'], filters: grafanaData.AdHocVariableFilter[] = []) => {
    const request = dashboardRequest([q], range, 60_000, 1000, `dashboard${into.length}`, filters);
    const sent = (datasource as unknown as { applyTemplateVariables(q: AnyQuery, v: object, f: unknown[]): AnyQuery }).applyTemplateVariables(q, {}, filters);
    lastValueFrom(datasource.query(request) as Observable<grafanaData.DataQueryResponse>).then(
      (rsp) =>
        into.push({
          query: sent,
          error: rsp.error ? describe(rsp.error) : undefined,
          frames: (rsp.data as grafanaData.DataFrame[]).map((f) => ({ name: f.name, fields: f.fields.map((x) => x.name), rows: f.length })),
        }),
      (err) => into.push({ query: sent, error: describe(err), frames: [] })
    );
  };

  // What a dashboard's ad hoc filter asks of the datasource, for the test
  // to call as Grafana does.
  window.harnessApi = {
    tagKeys: () => datasource.getTagKeys!({ filters: [] } as never),
    tagValues: (key: string) => datasource.getTagValues!({ key, filters: [], timeRange: range } as never),
    runWithFilters: (q: AnyQuery, filters: grafanaData.AdHocVariableFilter[]) => runOnce(q, window.harness.adhocRuns, filters),
  };

  const run = () => {
    const q = queryRef.current;
    // Grafana's query runner leaves out what filterQuery refuses (an SQL
    // query with no SQL yet) and runs nothing when none is left.
    if (datasource.filterQuery && !datasource.filterQuery(q)) {
      window.harness.runs.push({ query: q, skipped: true, frames: [] });
      return;
    }
    runOnce(q, window.harness.runs);
  };

  const runVariable = (q: AnyQuery) => {
    const support = datasource.variables as unknown as { query(r: unknown): Observable<grafanaData.DataQueryResponse> };
    const request = { targets: [q], range, scopedVars: {}, app: grafanaData.CoreApp.Dashboard, requestId: 'variable' };
    lastValueFrom(support.query(request)).then(
      (rsp) =>
        window.harness.variableValues.push({
          query: q,
          error: rsp.error ? describe(rsp.error) : undefined,
          values: (rsp.data as grafanaData.DataFrame[]).flatMap((f) => (f.fields[0]?.values ?? []).map(String)),
        }),
      (err) => window.harness.variableValues.push({ query: q, error: describe(err), values: [] })
    );
  };

  return (
    <div style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 24 }}>
      <section id="config" style={{ maxWidth: 900 }}>
        <h2>Settings</h2>
        <ConfigEditor
          options={options}
          onOptionsChange={(o: grafanaData.DataSourceSettings) => {
            window.harness.config.push(o.jsonData);
            setOptions(o);
          }}
        />
      </section>
      <section id="query">
        <h2>Query</h2>
        <QueryEditor
          datasource={datasource}
          query={query}
          range={range}
          app={grafanaData.CoreApp.PanelEditor}
          onChange={(q: grafanaData.DataQuery) => {
            window.harness.queries.push(q);
            queryRef.current = q as AnyQuery;
            setQuery(q as AnyQuery);
          }}
          onRunQuery={run}
        />
      </section>
      {VariableEditor && (
        <section id="variable" style={{ maxWidth: 900 }}>
          <h2>Variable</h2>
          <VariableEditor
            datasource={datasource}
            query={variable}
            onChange={(q: AnyQuery) => {
              window.harness.variables.push(q);
              setVariable(q);
              runVariable(q);
            }}
            onRunQuery={() => {}}
          />
        </section>
      )}
      {AnnotationEditor && annotation && (
        <section id="annotation" style={{ maxWidth: 900 }}>
          <h2>Annotation</h2>
          <AnnotationEditor
            datasource={datasource}
            query={annotation}
            onChange={(q: AnnotationQuery) => {
              window.harness.annotations.push(q);
              setAnnotation(q);
              runOnce(q, window.harness.annotationRuns);
            }}
            onRunQuery={() => {}}
          />
        </section>
      )}
      <p id="settings-uid" hidden>
        {settings.uid}
      </p>
    </div>
  );
}

// A bundled dashboard's panels, each run through the datasource as a
// dashboard runs it and drawn with Grafana's own panel components (time
// series and tables; other visualisations are Grafana's panel plugins,
// which are not published as packages, and are left out), laid out on
// Grafana's 24-column grid.
const GRID = { width: 1400, rowHeight: 30, gap: 8 };

// The defaults Grafana's time series panel plugin gives a field before the
// dashboard's own settings: a colour per series, lines of one pixel.
function withPanelDefaults(type: string, config?: grafanaData.FieldConfigSource): grafanaData.FieldConfigSource {
  const own = config ?? { defaults: {}, overrides: [] };
  const base: grafanaData.FieldConfig = {
    color: { mode: grafanaData.FieldColorModeId.PaletteClassic },
    custom: type === 'timeseries' ? { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false } : {},
  };
  return {
    ...own,
    defaults: { ...base, ...own.defaults, custom: { ...base.custom, ...(own.defaults?.custom ?? {}) } },
    overrides: own.overrides ?? [],
  };
}

function DashboardView(props: { uid: string; datasource: grafanaData.DataSourceApi; theme: grafanaData.GrafanaTheme2 }) {
  const { uid, datasource, theme } = props;
  const [spec, setSpec] = useState<DashboardSpec>();
  const [frames, setFrames] = useState<Record<number, grafanaData.DataFrame[]>>({});
  useEffect(() => {
    fetch(`/harness/dashboard/${uid}.json`)
      .then((r) => r.json())
      .then(async (d: DashboardSpec) => {
        setSpec(d);
        const range = grafanaData.makeTimeRange(grafanaData.dateTime(d.from), grafanaData.dateTime(d.to));
        const got: Record<number, grafanaData.DataFrame[]> = {};
        await Promise.all(
          d.panels.map(async (p, i) => {
            const request = dashboardRequest(p.targets, range, 300_000, 500, `panel${i}`);
            const rsp = await lastValueFrom(datasource.query(request) as Observable<grafanaData.DataQueryResponse>);
            if (rsp.error) {
              window.harness.dashboardErrors.push(`${p.title}: ${describe(rsp.error)}`);
            }
            // Grafana merges a panel's field defaults through the registry
            // of field options its core fills at boot; this page has none,
            // so the defaults go onto each field here.
            const defaults = withPanelDefaults(p.type, p.fieldConfig).defaults;
            for (const frame of rsp.data as grafanaData.DataFrame[]) {
              for (const field of frame.fields) {
                field.config = { ...defaults, ...field.config, custom: { ...defaults.custom, ...(field.config.custom ?? {}) } };
              }
            }
            got[i] = grafanaData.applyFieldOverrides({
              data: rsp.data as grafanaData.DataFrame[],
              fieldConfig: { defaults: {}, overrides: [] },
              replaceVariables: (v: string) => v,
              theme,
              timeZone: 'utc',
            });
          })
        );
        setFrames(got);
        window.harness.dashboardReady = true;
      })
      .catch((err) => (window.harness.error = describe(err)));
  }, [uid, datasource, theme]);
  if (!spec) {
    return <div>Loading…</div>;
  }
  const range = grafanaData.makeTimeRange(grafanaData.dateTime(spec.from), grafanaData.dateTime(spec.to));
  const col = (GRID.width - GRID.gap * 23) / 24;
  const height = Math.max(...spec.panels.map((p) => p.gridPos.y + p.gridPos.h)) * (GRID.rowHeight + GRID.gap);
  return (
    <div id="dashboard" style={{ position: 'relative', width: GRID.width, height, margin: 8 }}>
      {spec.panels.map((p, i) => {
        const width = p.gridPos.w * col + (p.gridPos.w - 1) * GRID.gap;
        const h = p.gridPos.h * GRID.rowHeight + (p.gridPos.h - 1) * GRID.gap;
        const data = frames[i];
        return (
          <div key={i} style={{ position: 'absolute', left: p.gridPos.x * (col + GRID.gap), top: p.gridPos.y * (GRID.rowHeight + GRID.gap) }}>
            <grafanaUI.PanelChrome title={p.title} width={width} height={h} loadingState={data ? grafanaData.LoadingState.Done : grafanaData.LoadingState.Loading}>
              {(innerWidth: number, innerHeight: number) =>
                !data ? null : p.type === 'timeseries' ? (
                  <grafanaUI.TimeSeries
                    frames={data}
                    structureRev={1}
                    width={innerWidth}
                    height={innerHeight}
                    timeRange={range}
                    timeZone="utc"
                    legend={{ displayMode: grafanaUI.LegendDisplayMode.List, placement: 'bottom', showLegend: true, calcs: [] }}
                  />
                ) : data.length > 0 ? (
                  <grafanaUI.Table data={data[0]} width={innerWidth} height={innerHeight} />
                ) : null
              }
            </grafanaUI.PanelChrome>
          </div>
        );
      })}
    </div>
  );
}

main().catch((err) => {
  window.harness.error = describe(err) + (err instanceof Error && err.stack ? `\n${err.stack}` : '');
});
