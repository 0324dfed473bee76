import React, { ChangeEvent, useEffect, useMemo, useState } from 'react';
import { SelectableValue, TimeRange } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { InlineField, InlineFieldRow, Input, MultiSelect, RadioButtonGroup } from '@grafana/ui';

import type { DataSource } from '../../datasource';
import { Choice, Filters, Meta, QueryOf, QueryType } from '../../types';

/** What every query type's editor is given. */
export interface TypeEditorProps<T extends QueryType> {
  query: QueryOf<T>;
  meta: Meta;
  datasource: DataSource;
  range?: TimeRange;
  /** Emits the changed query and, unless run is false, runs it. */
  onChange: (query: QueryOf<T>, run?: boolean) => void;
}

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

/** How each count option is shown. */
const counts = {
  topN: { label: 'Top', aria: 'Top services', tooltip: 'Groups with their own series; the rest are summed as other', width: 8 },
  limit: { label: 'Rows', aria: 'Row limit', tooltip: 'At most this many rows', width: 10 },
  idleDays: {
    label: 'Idle days',
    aria: 'Idle days',
    tooltip: "A contract with no use in this many days before the range's end is a cancellation candidate",
    width: 8,
  },
  renewalDays: { label: 'Renewal within', aria: 'Renewal days', tooltip: "Days after the range's end in which a renewal is marked due", width: 8 },
  gapMinutes: { label: 'Gaps from', aria: 'Gap minutes', tooltip: 'The shortest stretch without packets marked, in minutes', width: 8 },
};

export function Count(props: { name: keyof typeof counts; meta: Meta; value?: number; onCommit: (v?: number) => void }) {
  const c = counts[props.name];
  return (
    <InlineField label={c.label} labelWidth={c.label.length > 10 ? 16 : 12} tooltip={c.tooltip}>
      <CountInput label={c.aria} value={props.value} fallback={props.meta.defaults[props.name] as number} width={c.width} onCommit={props.onCommit} />
    </InlineField>
  );
}

/** The options shown as a choice of the values meta.enums lists. */
const choiceLabels = { metric: 'Metric', measure: 'Measure', view: 'View', format: 'Format', events: 'Events', signal: 'Signal' };

export function Choose<V extends string>(props: { name: keyof typeof choiceLabels; meta: Meta; value?: V; onChange: (v: V) => void }) {
  const { name, meta } = props;
  return (
    <InlineField label={choiceLabels[name]} labelWidth={12}>
      <RadioButtonGroup<V>
        options={(meta.enums[name] ?? []) as Array<{ value: V; label: string; description?: string }>}
        value={props.value ?? (meta.defaults[name] as V)}
        onChange={props.onChange}
      />
    </InlineField>
  );
}

/** The groupings a type's groupBy takes, as meta lists them. */
export function GroupBy(props: { type: QueryType; meta: Meta; value?: string; onChange: (v: string) => void }) {
  const { type, meta } = props;
  const allowed = meta.queryTypes.find((t) => t.name === type)?.groupings;
  return (
    <InlineField label="Group by" labelWidth={12}>
      <RadioButtonGroup<string>
        options={meta.groupings.filter((g) => !allowed || allowed.includes(g.value))}
        value={props.value ?? (meta.defaults.groupBy as string)}
        onChange={props.onChange}
      />
    </InlineField>
  );
}

export function Percentiles(props: { meta: Meta; value?: number[]; onChange: (v: number[]) => void }) {
  return (
    <InlineField label="Percentiles" labelWidth={12} tooltip="Comma-separated, e.g. 50, 95, 99">
      <Input
        aria-label="Percentiles"
        width={20}
        defaultValue={(props.value ?? (props.meta.defaults.percentiles as number[])).join(', ')}
        onBlur={(e: React.FocusEvent<HTMLInputElement>) =>
          props.onChange(
            e.currentTarget.value
              .split(',')
              .map((x) => parseFloat(x))
              .filter((x) => x > 0 && x <= 100)
          )
        }
      />
    </InlineField>
  );
}

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

/** Every filter the backend has: a picker per list, a choice for kinds. */
export function FilterRows<Q extends Filters>(props: {
  query: Q;
  meta: Meta;
  datasource: DataSource;
  range?: TimeRange;
  onChange: (q: Q) => void;
}) {
  const { query, meta, datasource, range, onChange } = props;
  const variables = useMemo(variableOptions, []);
  const values = query as Record<string, unknown>;
  return (
    <InlineFieldRow>
      {meta.filters.map((f) =>
        f.list ? (
          <Picker
            key={f.name}
            datasource={datasource}
            list={f.list}
            label={f.label}
            range={range}
            variables={variables}
            value={values[f.name] as string[] | undefined}
            onChange={(v) => onChange({ ...query, [f.name]: v })}
          />
        ) : (
          <InlineField key={f.name} label={f.label} labelWidth={12}>
            <RadioButtonGroup<string>
              options={[{ value: 'all', label: 'All' }, ...(f.values ?? [])]}
              value={(values[f.name] as string[] | undefined)?.[0] ?? 'all'}
              onChange={(v) => onChange({ ...query, [f.name]: v === 'all' ? undefined : [v] })}
            />
          </InlineField>
        )
      )}
    </InlineFieldRow>
  );
}
