import React from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { QueryEditor } from './QueryEditor';
import type { DataSource } from '../datasource';
import { Choice, Filters, SaasQuery } from '../types';

/** Picks a query type as a user does: opens the type menu and clicks the type. */
async function pickType(user: ReturnType<typeof userEvent.setup>, label: string) {
  await user.click(await screen.findByRole('combobox', { name: 'Query type' }));
  await user.click(await screen.findByRole('option', { name: new RegExp(`^${label}`) }));
}

const last = (seen: SaasQuery[]) => seen[seen.length - 1] as SaasQuery & Filters;
import meta from '../testdata/meta.json';

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({ getVariables: () => [{ name: 'service' }] }),
}));

// Monaco does not run in jsdom: the SQL editor is a text area here that
// commits on blur as CodeEditor does and shows what completion offers.
// The real CodeEditor is driven in Chromium (grafanahost's browser test).
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  CodeEditor: function CodeEditor(props: {
    value: string;
    onBlur?: (v: string) => void;
    getSuggestions?: () => Array<{ label: string; detail?: string }>;
  }) {
    const [text, setText] = React.useState(props.value);
    return (
      <>
        <textarea aria-label="SQL" value={text} onChange={(e) => setText(e.currentTarget.value)} onBlur={() => props.onBlur?.(text)} />
        <ul aria-label="Completions">
          {(props.getSuggestions?.() ?? []).map((s) => (
            <li key={s.label}>
              {s.label}: {s.detail}
            </li>
          ))}
        </ul>
      </>
    );
  },
}));

function fakeDatasource(services: Choice[] | Error, clients: Choice[] = [], vendors: Choice[] = [], users: Choice[] = []) {
  const lists: Record<string, Choice[] | Error> = {
    services,
    clients,
    devices: [{ text: 'grace-laptop (02:00:00:00:01:16)', value: '02:00:00:00:01:16' }],
    vendors,
    products: [{ text: 'Microsoft Teams', value: 'Microsoft Teams' }],
    categories: [{ text: 'chat', value: 'chat' }],
    users,
    departments: [{ text: 'Sales', value: 'Sales' }],
  };
  return {
    getMeta: jest.fn(() => Promise.resolve(meta)),
    getList: jest.fn((name: string) => {
      const l = lists[name];
      return l instanceof Error ? Promise.reject(l) : Promise.resolve(l ?? []);
    }),
  } as unknown as DataSource & { getList: jest.Mock };
}

function Harness({ initial, ds, seen, runs }: { initial: SaasQuery; ds: DataSource; seen: SaasQuery[]; runs: jest.Mock }) {
  const [query, setQuery] = React.useState(initial);
  return (
    <QueryEditor
      query={query}
      datasource={ds}
      onRunQuery={runs}
      onChange={(q) => {
        seen.push(q);
        setQuery(q);
      }}
    />
  );
}

describe('QueryEditor', () => {
  it('switches query types and their options', async () => {
    const seen: SaasQuery[] = [];
    const runs = jest.fn();
    render(<Harness initial={{ refId: 'A', queryType: 'usage', metric: 'bytes' }} ds={fakeDatasource([])} seen={seen} runs={runs} />);
    const user = userEvent.setup();
    expect(await screen.findByLabelText('Top services')).toHaveValue(10);
    // The variable and annotation editors' types are not a panel's.
    await user.click(screen.getByRole('combobox', { name: 'Query type' }));
    const offered = screen.getAllByRole('option').map((o) => o.textContent);
    expect(offered).toHaveLength(12);
    expect(offered.filter((o) => /^(Variable|Annotations)/.test(o ?? ''))).toEqual([]);
    await user.keyboard('{Escape}');
    // A query saved by the first model is brought to this one when opened, without running.
    expect(seen[0]).toEqual({ refId: 'A', queryType: 'usage', metric: 'bytes', version: 2 });
    await user.click(screen.getByRole('radio', { name: 'Clients' }));
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'usage', metric: 'clients', version: 2 });
    await pickType(user, 'Server names');
    expect(seen[seen.length - 1].queryType).toBe('serverNames');
    expect(screen.queryByLabelText('Top services')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Row limit')).toHaveValue(1000);
    await pickType(user, 'SQL');
    const sql = screen.getByRole('textbox', { name: 'SQL' });
    await user.type(sql, 'SELECT count(*) FROM streams WHERE $__timeFilter(first)');
    await user.tab();
    // usage's metric does not follow the query into SQL.
    expect(seen[seen.length - 1]).toEqual({
      refId: 'A',
      queryType: 'sql',
      version: 2,
      rawSql: 'SELECT count(*) FROM streams WHERE $__timeFilter(first)',
    });
    await user.click(screen.getByRole('radio', { name: 'Time series' }));
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'sql', version: 2, rawSql: 'SELECT count(*) FROM streams WHERE $__timeFilter(first)', format: 'time_series' });
    expect(runs).toHaveBeenCalledTimes(5);
  });

  it('offers the services the backend lists, and template variables', async () => {
    const ds = fakeDatasource([
      { text: 'teams.microsoft.com', value: 'teams.microsoft.com' },
      { text: 'slack.com', value: 'slack.com' },
    ]);
    const seen: SaasQuery[] = [];
    render(<Harness initial={{ refId: 'A', queryType: 'usage' }} ds={ds} seen={seen} runs={jest.fn()} />);
    const user = userEvent.setup();
    await waitFor(() => expect(ds.getList).toHaveBeenCalledWith('services', undefined));
    await user.click(screen.getByLabelText('Services'));
    expect(await screen.findByText('teams.microsoft.com')).toBeInTheDocument();
    expect(screen.getByText('$service')).toBeInTheDocument();
    await user.click(screen.getByText('slack.com'));
    expect(last(seen).services).toEqual(['slack.com']);
  });

  it('groups by vendor and narrows to SaaS vendors', async () => {
    const ds = fakeDatasource([], [], [
      { text: 'Microsoft', value: 'Microsoft' },
      { text: 'Cybozu', value: 'Cybozu' },
    ]);
    const seen: SaasQuery[] = [];
    render(<Harness initial={{ refId: 'A', queryType: 'usage', metric: 'bytes' }} ds={ds} seen={seen} runs={jest.fn()} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('radio', { name: 'Vendor' }));
    await user.click(screen.getByRole('radio', { name: 'SaaS' }));
    await user.click(screen.getByLabelText('Vendors'));
    await user.click(await screen.findByText('Cybozu'));
    expect(seen[seen.length - 1]).toEqual({
      refId: 'A',
      queryType: 'usage',
      version: 2,
      metric: 'bytes',
      groupBy: 'vendor',
      kinds: ['saas'],
      vendors: ['Cybozu'],
    });
    await user.click(screen.getByRole('radio', { name: 'All' }));
    expect(last(seen).kinds).toBeUndefined();
    await user.click(screen.getByLabelText('Products'));
    await user.click(await screen.findByText('Microsoft Teams'));
    expect(last(seen).products).toEqual(['Microsoft Teams']);
    await user.click(screen.getByRole('combobox', { name: 'Devices' }));
    await user.click(await screen.findByText('grace-laptop (02:00:00:00:01:16)'));
    expect(last(seen).devices).toEqual(['02:00:00:00:01:16']);
  });

  it('asks for latency percentiles', async () => {
    const seen: SaasQuery[] = [];
    render(<Harness initial={{ refId: 'A', queryType: 'usage' }} ds={fakeDatasource([])} seen={seen} runs={jest.fn()} />);
    const user = userEvent.setup();
    await pickType(user, 'Latency');
    await user.click(screen.getByRole('radio', { name: 'Server RTT' }));
    const pct = screen.getByLabelText('Percentiles');
    await user.clear(pct);
    await user.type(pct, '50, 99, 250');
    await user.tab();
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'latency', version: 2, measure: 'serverRtt', percentiles: [50, 99] });
  });

  it('says why the pickers are empty', async () => {
    const ds = fakeDatasource(new Error('no database at /x.db yet: the first ingest has not finished'));
    render(<Harness initial={{ refId: 'A', queryType: 'streams' }} ds={ds} seen={[]} runs={jest.fn()} />);
    expect(await screen.findByText('no database at /x.db yet: the first ingest has not finished')).toBeInTheDocument();
  });

  it('groups usage by user and filters devices by a user picked from the inventory', async () => {
    const seen: SaasQuery[] = [];
    const runs = jest.fn();
    const ds = fakeDatasource([], [], [], [{ text: 'Alice Tanaka', value: 'Alice Tanaka' }]);
    render(<Harness initial={{ refId: 'A', queryType: 'usage', metric: 'bytes' }} ds={ds} seen={seen} runs={runs} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('radio', { name: 'User' }));
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'usage', version: 2, metric: 'bytes', groupBy: 'user' });
    await pickType(user, 'Devices');
    // A devices row is a device: grouping by user does not follow, metric neither.
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'devices', version: 2 });
    // A devices row is a device already: no grouping by who.
    expect(screen.queryByRole('radio', { name: 'User' })).not.toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Vendor' })).toBeInTheDocument();
    await user.click(screen.getByLabelText('Users'));
    await user.click(await screen.findByText('Alice Tanaka'));
    expect(last(seen).users).toEqual(['Alice Tanaka']);
    expect(ds.getList).toHaveBeenCalledWith('users', undefined);
    expect(ds.getList).toHaveBeenCalledWith('departments', undefined);
  });

  it('asks licences for cancellation candidates and renewals due', async () => {
    const seen: SaasQuery[] = [];
    const runs = jest.fn();
    render(<Harness initial={{ refId: 'A', queryType: 'licences' }} ds={fakeDatasource([])} seen={seen} runs={runs} />);
    const user = userEvent.setup();
    const idle = await screen.findByLabelText('Idle days');
    expect(idle).toHaveValue(30);
    expect(screen.getByLabelText('Renewal days')).toHaveValue(60);
    await user.clear(idle);
    await user.type(idle, '90');
    await user.tab();
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'licences', version: 2, idleDays: 90 });
    expect(runs).toHaveBeenCalledTimes(1);
  });

  it('asks for latency by day of month', async () => {
    const seen: SaasQuery[] = [];
    render(<Harness initial={{ refId: 'A', queryType: 'latency' }} ds={fakeDatasource([])} seen={seen} runs={jest.fn()} />);
    await userEvent.setup().click(await screen.findByRole('radio', { name: 'Day of month' }));
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'latency', version: 2, view: 'dayOfMonth' });
  });

  it('offers a picker for every filter a type reads, categories included', async () => {
    const seen: SaasQuery[] = [];
    render(<Harness initial={{ refId: 'A', queryType: 'geo' }} ds={fakeDatasource([])} seen={seen} runs={jest.fn()} />);
    const user = userEvent.setup();
    await user.click(await screen.findByLabelText('Categories'));
    await user.click(await screen.findByText('chat'));
    expect(seen[seen.length - 1]).toEqual({ refId: 'A', queryType: 'geo', version: 2, categories: ['chat'] });
    // Licences read no filters: none shown.
    await pickType(user, 'Licences');
    expect(screen.queryByLabelText('Categories')).not.toBeInTheDocument();
  });

  it('completes SQL with the tables, columns and macros the backend has', async () => {
    render(<Harness initial={{ refId: 'A', queryType: 'sql' }} ds={fakeDatasource([])} seen={[]} runs={jest.fn()} />);
    const offered = within(await screen.findByRole('list', { name: 'Completions' })).getAllByRole('listitem').map((li) => li.textContent);
    expect(offered).toEqual(expect.arrayContaining([
      expect.stringMatching(/^client_usage_monthly: table: /),
      'streams.server_name: column of streams',
      '$__activeFilter: $__activeFilter(alias)',
      '$__timeFilter: $__timeFilter(col)',
    ]));
  });

  it('says why it cannot offer anything', async () => {
    const ds = { getMeta: () => Promise.reject({ data: { message: 'Plugin unavailable' } }) } as unknown as DataSource;
    render(<Harness initial={{ refId: 'A', queryType: 'usage' }} ds={ds} seen={[]} runs={jest.fn()} />);
    expect(await screen.findByText('Plugin unavailable')).toBeInTheDocument();
  });
});
