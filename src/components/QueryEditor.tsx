import React, { ChangeEvent, useEffect, useMemo, useState } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { Field, InlineField, InlineFieldRow, Input, MultiSelect, RadioButtonGroup, TextArea } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { Choice, GroupBy, Kind, Measure, Metric, QueryType, SaasOptions, SaasQuery } from '../types';

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

const queryTypes: Array<SelectableValue<QueryType>> = [
  { label: 'Usage', value: 'usage', description: 'A metric per service over time' },
  { label: 'Latency', value: 'latency', description: 'Handshake and round-trip percentiles, resets, retransmissions' },
  { label: 'Licences', value: 'licences', description: 'Active devices and users against seats per contract and month' },
  { label: 'Shadow IT', value: 'shadowIT', description: 'SaaS in use that no contract covers, and names no catalog knows' },
  { label: 'Unclassified', value: 'unclassified', description: 'Names no catalog knows, by registrable domain: what to name next' },
  { label: 'Month over month', value: 'monthOverMonth', description: "The range's last month against the one before" },
  { label: 'Devices', value: 'devices', description: 'Which devices use each service: first and last use, days active' },
  { label: 'Servers abroad', value: 'geo', description: "Streams and bytes per service and server country; outside the home country flagged" },
  { label: 'Server names', value: 'serverNames', description: 'One row per service: accesses, bytes, clients' },
  { label: 'Streams', value: 'streams', description: 'One row per stream, as in the tutorial' },
  { label: 'SQL', value: 'sql', description: 'Your own SQL over the SaaSLens tables' },
];

const metrics: Array<SelectableValue<Metric>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Streams', value: 'streams' },
  { label: 'Clients', value: 'clients' },
  { label: 'Active devices', value: 'devices', description: 'Distinct devices: a client MAC where seen, else its address' },
];

const measures: Array<SelectableValue<Measure>> = [
  { label: 'TLS handshake', value: 'tls', description: 'ClientHello to ServerHello' },
  { label: 'Server RTT', value: 'serverRtt', description: 'SYN to SYN/ACK: the network beyond the capture point' },
  { label: 'Client RTT', value: 'clientRtt', description: 'SYN/ACK to ACK: the client side' },
  { label: 'Resets', value: 'resets', description: 'Share of streams ending in a reset' },
  { label: 'Retransmits', value: 'retransmits', description: 'Share of TCP streams with a retransmitted segment' },
];

const groupings: Array<SelectableValue<GroupBy>> = [
  { label: 'Server name', value: 'service' },
  { label: 'Vendor', value: 'vendor' },
  { label: 'Product', value: 'product' },
  { label: 'Category', value: 'category' },
];

/** Groupings by who: the inventory's devices, users and departments. */
const groupingsByWho: Array<SelectableValue<GroupBy>> = [
  { label: 'Device', value: 'device', description: 'The inventory or DHCP name, else MAC or address' },
  { label: 'User', value: 'user', description: 'As the inventory file names them' },
  { label: 'Department', value: 'department', description: 'As the inventory file names them' },
];

const kinds: Array<SelectableValue<Kind | 'all'>> = [
  { label: 'All', value: 'all' },
  { label: 'SaaS', value: 'saas', description: 'Services people use' },
  { label: 'Infrastructure', value: 'infra', description: 'CDNs, certificate checks, updates, telemetry, ads' },
  { label: 'Unknown', value: 'unknown', description: 'Names no catalog entry or contract knows' },
];

const formats: Array<SelectableValue<'table' | 'time_series'>> = [
  { label: 'Table', value: 'table' },
  { label: 'Time series', value: 'time_series' },
];

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

function usePicker(load: () => Promise<Choice[]>): { options: Array<SelectableValue<string>>; error?: string } {
  const [state, setState] = useState<{ options: Array<SelectableValue<string>>; error?: string }>({ options: [] });
  useEffect(() => {
    let live = true;
    load().then(
      (list) => live && setState({ options: list.map((c) => ({ label: c.text, value: c.value })) }),
      (err) => live && setState({ options: [], error: String(err?.data?.error ?? err?.message ?? err) })
    );
    return () => {
      live = false;
    };
    // Loaded once per editor: reloading on every range change would
    // reset the menu while the user picks.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return state;
}

function asOptions(values: string[] | undefined): Array<SelectableValue<string>> {
  return (values ?? []).map((v) => ({ label: v, value: v }));
}

/** A filter list: the backend's choices after the dashboard's variables, or any value typed. */
function Picker(props: {
  label: string;
  labelWidth: number;
  choices: { options: Array<SelectableValue<string>>; error?: string };
  variables: Array<SelectableValue<string>>;
  value?: string[];
  onChange: (v: string[]) => void;
}) {
  const { label, labelWidth, choices, variables, value, onChange } = props;
  return (
    <InlineField label={label} labelWidth={labelWidth} error={choices.error} invalid={!!choices.error} grow>
      <MultiSelect<string>
        aria-label={label}
        placeholder={`All ${label.toLowerCase()}`}
        options={[...variables, ...choices.options]}
        value={asOptions(value)}
        allowCustomValue
        onChange={(v) => onChange(v.map((o) => o.value!))}
      />
    </InlineField>
  );
}

export function QueryEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const queryType = query.queryType ?? 'usage';
  const services = usePicker(() => datasource.getServices(range));
  const clients = usePicker(() => datasource.getClients(range));
  const devices = usePicker(() => datasource.getDevices(range));
  const vendors = usePicker(() => datasource.getVendors(range));
  const products = usePicker(() => datasource.getProducts(range));
  const users = usePicker(() => datasource.getUsers(range));
  const departments = usePicker(() => datasource.getDepartments(range));
  const variables = useMemo(variableOptions, []);
  const [sql, setSql] = useState(query.rawSql ?? '');

  const change = (patch: Partial<SaasQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };

  const filters = (
    <>
    <InlineFieldRow>
      <Picker label="Vendors" labelWidth={12} choices={vendors} variables={variables} value={query.vendors} onChange={(v) => change({ vendors: v })} />
      <Picker label="Products" labelWidth={10} choices={products} variables={variables} value={query.products} onChange={(v) => change({ products: v })} />
      <InlineField label="Kind" labelWidth={8}>
        <RadioButtonGroup<Kind | 'all'>
          options={kinds}
          value={query.kinds?.[0] ?? 'all'}
          onChange={(v) => change({ kinds: v === 'all' ? undefined : [v] })}
        />
      </InlineField>
    </InlineFieldRow>
    <InlineFieldRow>
      <Picker label="Services" labelWidth={12} choices={services} variables={variables} value={query.services} onChange={(v) => change({ services: v })} />
      <Picker label="Clients" labelWidth={12} choices={clients} variables={variables} value={query.clients} onChange={(v) => change({ clients: v })} />
      <Picker label="Devices" labelWidth={10} choices={devices} variables={variables} value={query.devices} onChange={(v) => change({ devices: v })} />
    </InlineFieldRow>
    <InlineFieldRow>
      <Picker label="Users" labelWidth={12} choices={users} variables={variables} value={query.users} onChange={(v) => change({ users: v })} />
      <Picker label="Departments" labelWidth={12} choices={departments} variables={variables} value={query.departments} onChange={(v) => change({ departments: v })} />
    </InlineFieldRow>
    </>
  );

  // A devices row is already a device: it groups by what, not by who.
  const grouping = (
    <InlineField label="Group by" labelWidth={12}>
      <RadioButtonGroup<GroupBy>
        options={queryType === 'devices' ? groupings : [...groupings, ...groupingsByWho]}
        value={query.groupBy ?? 'service'}
        onChange={(v) => change({ groupBy: v })}
      />
    </InlineField>
  );

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query" labelWidth={12}>
          <RadioButtonGroup<QueryType> options={queryTypes} value={queryType} onChange={(v) => change({ queryType: v })} />
        </InlineField>
      </InlineFieldRow>
      {queryType === 'usage' && (
        <>
          <InlineFieldRow>
            {grouping}
            <InlineField label="Metric" labelWidth={8}>
              <RadioButtonGroup<Metric> options={metrics} value={query.metric ?? 'bytes'} onChange={(v) => change({ metric: v })} />
            </InlineField>
            <InlineField label="Top" labelWidth={8} tooltip="Services with their own series; the rest are summed as other">
              <CountInput label="Top services" value={query.topN} fallback={10} width={8} onCommit={(v) => change({ topN: v })} />
            </InlineField>
          </InlineFieldRow>
          {filters}
        </>
      )}
      {queryType === 'latency' && (
        <>
          <InlineFieldRow>
            {grouping}
            <InlineField label="Measure" labelWidth={10}>
              <RadioButtonGroup<Measure> options={measures} value={query.measure ?? 'tls'} onChange={(v) => change({ measure: v })} />
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            <InlineField label="View" labelWidth={12} tooltip="Day of month puts every month's streams together by calendar day, so month-end slowdowns show">
              <RadioButtonGroup<'time' | 'dayOfMonth'>
                options={[
                  { label: 'Over time', value: 'time' },
                  { label: 'Day of month', value: 'dayOfMonth' },
                ]}
                value={query.view ?? 'time'}
                onChange={(v) => change({ view: v })}
              />
            </InlineField>
            <InlineField label="Percentiles" labelWidth={12} tooltip="Comma-separated, e.g. 50, 95, 99">
              <Input
                aria-label="Percentiles"
                width={20}
                defaultValue={(query.percentiles ?? [50, 95]).join(', ')}
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
          </InlineFieldRow>
          {filters}
        </>
      )}
      {queryType === 'licences' && (
        <InlineFieldRow>
          <InlineField label="Idle days" labelWidth={12} tooltip="A contract with no use in this many days before the range's end is a cancellation candidate">
            <CountInput label="Idle days" value={query.idleDays} fallback={30} width={8} onCommit={(v) => change({ idleDays: v })} />
          </InlineField>
          <InlineField label="Renewal within" labelWidth={16} tooltip="Days after the range's end in which a renewal is marked due">
            <CountInput label="Renewal days" value={query.renewalDays} fallback={60} width={8} onCommit={(v) => change({ renewalDays: v })} />
          </InlineField>
        </InlineFieldRow>
      )}
      {(queryType === 'shadowIT' || queryType === 'unclassified') && filters}
      {(queryType === 'devices' || queryType === 'geo') && (
        <>
          <InlineFieldRow>{grouping}</InlineFieldRow>
          {filters}
        </>
      )}
      {queryType === 'monthOverMonth' && (
        <>
          <InlineFieldRow>{grouping}</InlineFieldRow>
          {filters}
        </>
      )}
      {(queryType === 'serverNames' || queryType === 'streams') && (
        <>
          {queryType === 'serverNames' && <InlineFieldRow>{grouping}</InlineFieldRow>}
          {filters}
          <InlineFieldRow>
            <InlineField label="Rows" labelWidth={12} tooltip="At most this many rows">
              <CountInput label="Row limit" value={query.limit} fallback={1000} width={10} onCommit={(v) => change({ limit: v })} />
            </InlineField>
          </InlineFieldRow>
        </>
      )}
      {queryType === 'sql' && (
        <>
          <Field
            label="SQL"
            description="One SELECT over the SaaSLens tables (streams, tls, packets, dns, dhcp, devices, client_usage_hourly, client_usage_daily, client_usage_monthly, usage_hourly, server_usage_hourly, captures). Times are Unix nanoseconds: $__timeFilter(col), $__timeGroup(col, $__interval) AS time, $__timeFrom, $__timeTo, $__interval_s; $__activeFilter(s) keeps the streams s with traffic in the range."
          >
            <TextArea
              aria-label="SQL"
              rows={8}
              value={sql}
              onChange={(e: ChangeEvent<HTMLTextAreaElement>) => setSql(e.currentTarget.value)}
              onBlur={() => change({ rawSql: sql })}
            />
          </Field>
          <InlineFieldRow>
            <InlineField label="Format" labelWidth={12}>
              <RadioButtonGroup options={formats} value={query.format ?? 'table'} onChange={(v) => change({ format: v })} />
            </InlineField>
          </InlineFieldRow>
        </>
      )}
    </>
  );
}
