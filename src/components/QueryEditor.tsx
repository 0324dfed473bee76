import React, { ChangeEvent, useEffect, useMemo, useState } from 'react';
import { QueryEditorProps, SelectableValue, TimeRange } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { Alert, Field, InlineField, InlineFieldRow, Input, MultiSelect, RadioButtonGroup, TextArea } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { Choice, Enum, Meta, SaasOptions, SaasQuery } from '../types';
import { useMeta } from './useMeta';

type Props = QueryEditorProps<DataSource, SaasQuery, SaasOptions>;

/**
 * A whole-number field whose text may be cleared and retyped: it commits on
 * blur, a positive number or undefined (the backend's default), so typing
 * "90" over "30" gives 90, not 3090.
 */
function CountInput(props: { label: string; value?: number; fallback: number; width: number; onCommit: (v?: number) => void }) {
  const { label, value, fallback, width, onCommit } = props;
  const [text, setText] = useState(String(value ?? fallback));
  return (
    <Input
      aria-label={label}
      type="number"
      min={1}
      width={width}
      value={text}
      onChange={(e: ChangeEvent<HTMLInputElement>) => setText(e.currentTarget.value)}
      onBlur={() => {
        const n = parseInt(text, 10);
        onCommit(n > 0 ? n : undefined);
        if (!(n > 0)) {
          setText(String(fallback));
        }
      }}
    />
  );
}

/** How each count option is shown: the backend's meta says which options a type reads. */
const counts: Record<string, { label: string; aria: string; tooltip: string; width: number }> = {
  topN: { label: 'Top', aria: 'Top services', tooltip: 'Groups with their own series; the rest are summed as other', width: 8 },
  limit: { label: 'Rows', aria: 'Row limit', tooltip: 'At most this many rows', width: 10 },
  idleDays: {
    label: 'Idle days',
    aria: 'Idle days',
    tooltip: "A contract with no use in this many days before the range's end is a cancellation candidate",
    width: 8,
  },
  renewalDays: { label: 'Renewal within', aria: 'Renewal days', tooltip: "Days after the range's end in which a renewal is marked due", width: 8 },
};

/** The options shown as a choice of the values meta.enums lists. */
const choices: Record<string, string> = { metric: 'Metric', measure: 'Measure', view: 'View', format: 'Format' };

/** Template variables offered in the pickers, as $name. */
function variableOptions(): Array<SelectableValue<string>> {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => ({ label: `$${v.name}`, value: `$${v.name}` }));
  } catch {
    return []; // no template service outside a dashboard
  }
}

function asOptions(values: string[] | undefined): Array<SelectableValue<string>> {
  return (values ?? []).map((v) => ({ label: v, value: v }));
}

/** A filter list: the backend's choices after the dashboard's variables, or any value typed. */
function Picker(props: {
  datasource: DataSource;
  list: string;
  label: string;
  range?: TimeRange;
  variables: Array<SelectableValue<string>>;
  value?: string[];
  onChange: (v: string[]) => void;
}) {
  const { datasource, list, label, range, variables, value, onChange } = props;
  const [state, setState] = useState<{ options: Array<SelectableValue<string>>; error?: string }>({ options: [] });
  useEffect(() => {
    let live = true;
    datasource.getList(list, range).then(
      (got: Choice[]) => live && setState({ options: got.map((c) => ({ label: c.text, value: c.value })) }),
      (err) => live && setState({ options: [], error: String(err?.data?.error ?? err?.message ?? err) })
    );
    return () => {
      live = false;
    };
    // Loaded once per picker: reloading on every range change would
    // reset the menu while the user picks.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [datasource, list]);
  return (
    <InlineField label={label} labelWidth={12} error={state.error} invalid={!!state.error} grow>
      <MultiSelect<string>
        aria-label={label}
        placeholder={`All ${label.toLowerCase()}`}
        options={[...variables, ...state.options]}
        value={asOptions(value)}
        allowCustomValue
        onChange={(v) => onChange(v.map((o) => o.value!))}
      />
    </InlineField>
  );
}

/** The SQL editor's help: the macros and tables the backend has. */
function sqlHelp(meta: Meta): string {
  const tables = meta.tables.map((t) => t.name).join(', ');
  const macros = meta.macros.map((m) => `${m.syntax}: ${m.doc}`).join('; ');
  return `One SELECT over the SaaSLens tables (${tables || meta.tablesProblem || 'none yet'}). Times are Unix nanoseconds. ${macros}.`;
}

export function QueryEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const { meta, error } = useMeta(datasource);
  const variables = useMemo(variableOptions, []);
  const [sql, setSql] = useState(query.rawSql ?? '');
  if (error) {
    return <Alert title="The datasource's query types could not be read">{error}</Alert>;
  }
  if (!meta) {
    return <div>Loading…</div>;
  }
  const defaults = meta.defaults;
  const queryType = query.queryType ?? (defaults.queryType as string);
  const type = meta.queryTypes.find((t) => t.name === queryType);
  const reads = new Set(type?.options ?? []);
  const values = query as unknown as Record<string, unknown>;

  const change = (patch: Partial<SaasQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };

  const radio = (name: string, label: string, options: Enum[]) => (
    <InlineField key={name} label={label} labelWidth={12}>
      <RadioButtonGroup<string>
        options={options}
        value={(values[name] as string | undefined) ?? (defaults[name] as string)}
        onChange={(v) => change({ [name]: v })}
      />
    </InlineField>
  );

  const groupings = meta.groupings.filter((g) => !type?.groupings || type.groupings.includes(g.value));
  const settings = (
    <InlineFieldRow>
      {reads.has('groupBy') && radio('groupBy', 'Group by', groupings)}
      {Object.entries(choices)
        .filter(([name]) => reads.has(name))
        .map(([name, label]) => radio(name, label, meta.enums[name] ?? []))}
      {Object.entries(counts)
        .filter(([name]) => reads.has(name))
        .map(([name, c]) => (
          <InlineField key={name} label={c.label} labelWidth={c.label.length > 10 ? 16 : 12} tooltip={c.tooltip}>
            <CountInput
              label={c.aria}
              value={values[name] as number | undefined}
              fallback={defaults[name] as number}
              width={c.width}
              onCommit={(v) => change({ [name]: v })}
            />
          </InlineField>
        ))}
      {reads.has('percentiles') && (
        <InlineField label="Percentiles" labelWidth={12} tooltip="Comma-separated, e.g. 50, 95, 99">
          <Input
            aria-label="Percentiles"
            width={20}
            defaultValue={((query.percentiles ?? defaults.percentiles) as number[]).join(', ')}
            onBlur={(e: React.FocusEvent<HTMLInputElement>) =>
              change({
                percentiles: e.currentTarget.value
                  .split(',')
                  .map((x) => parseFloat(x))
                  .filter((x) => x > 0 && x <= 100),
              })
            }
          />
        </InlineField>
      )}
    </InlineFieldRow>
  );

  const filters = meta.filters.filter((f) => reads.has(f.name));
  const filterRows = (
    <InlineFieldRow>
      {filters.map((f) =>
        f.list ? (
          <Picker
            key={f.name}
            datasource={datasource}
            list={f.list}
            label={f.label}
            range={range}
            variables={variables}
            value={values[f.name] as string[] | undefined}
            onChange={(v) => change({ [f.name]: v })}
          />
        ) : (
          <InlineField key={f.name} label={f.label} labelWidth={12}>
            <RadioButtonGroup<string>
              options={[{ value: 'all', label: 'All' }, ...(f.values ?? [])]}
              value={(values[f.name] as string[] | undefined)?.[0] ?? 'all'}
              onChange={(v) => change({ [f.name]: v === 'all' ? undefined : [v] })}
            />
          </InlineField>
        )
      )}
    </InlineFieldRow>
  );

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query" labelWidth={12}>
          <RadioButtonGroup<string>
            options={meta.queryTypes.filter((t) => !t.internal).map((t) => ({ label: t.label, value: t.name, description: t.description }))}
            value={queryType}
            onChange={(v) => change({ queryType: v })}
          />
        </InlineField>
      </InlineFieldRow>
      {settings}
      {filters.length > 0 && filterRows}
      {reads.has('rawSql') && (
        <Field label="SQL" description={sqlHelp(meta)}>
          <TextArea
            aria-label="SQL"
            rows={8}
            value={sql}
            onChange={(e: ChangeEvent<HTMLTextAreaElement>) => setSql(e.currentTarget.value)}
            onBlur={() => change({ rawSql: sql })}
          />
        </Field>
      )}
    </>
  );
}
