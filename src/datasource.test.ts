import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { DataSource, expandList, sqlQuote } from './datasource';
import { SaasQuery } from './types';

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => srv,
}));

// A template service holding $service = [slack.com, it's.example] and
// $all at All.
const srv = {
  replace: (text: string, _vars?: ScopedVars, format?: string | ((v: string[]) => string)) => {
    const values: Record<string, string[]> = { $service: ['slack.com', "it's.example"], $all: ['$__all'] };
    const v = values[text];
    if (!v) {
      return text;
    }
    if (typeof format === 'function') {
      return format(v);
    }
    return format === 'json' ? JSON.stringify(v) : v.join(',');
  },
} as unknown as TemplateSrv;

describe('expandList', () => {
  it('gives a multi-value variable as entries', () => {
    expect(expandList(['$service', 'zoom.us', 'slack.com'], srv, {})).toEqual(['slack.com', "it's.example", 'zoom.us']);
  });
  it('turns All into no narrowing', () => {
    expect(expandList(['zoom.us', '$all'], srv, {})).toEqual(['*']);
  });
  it('leaves no list alone', () => {
    expect(expandList(undefined, srv, {})).toBeUndefined();
  });
});

describe('sqlQuote', () => {
  it('quotes each value as a string literal', () => {
    expect(sqlQuote(['slack.com', "it's.example"])).toBe("'slack.com','it''s.example'");
    expect(sqlQuote("o'clock")).toBe("'o''clock'");
  });
});

describe('applyTemplateVariables', () => {
  it('expands variables in every list of strings, whichever filter it is', () => {
    // Saved by the first model: latency's percentiles on a geo query.
    const query = {
      refId: 'A',
      queryType: 'geo',
      categories: ['$service'],
      kinds: ['saas'],
      departments: ['$all'],
      percentiles: [50, 95],
    } as SaasQuery;
    const got = DataSource.prototype.applyTemplateVariables.call({} as DataSource, query, {});
    expect(got).toEqual({
      refId: 'A',
      queryType: 'geo',
      version: 2,
      categories: ['slack.com', "it's.example"],
      kinds: ['saas'],
      departments: ['*'],
    });
  });

  it("hands the dashboard's ad hoc filters to the backend, variables expanded", () => {
    const query: SaasQuery = { refId: 'A', queryType: 'usage', version: 2, metric: 'bytes' };
    const got = DataSource.prototype.applyTemplateVariables.call({} as DataSource, query, {}, [
      { key: 'department', operator: '=', value: 'Sales' },
      { key: 'service', operator: '=|', value: '', values: ['$service'] },
    ]);
    expect(got).toEqual({
      refId: 'A',
      queryType: 'usage',
      version: 2,
      metric: 'bytes',
      adhocFilters: [
        { key: 'department', operator: '=', value: 'Sales' },
        { key: 'service', operator: '=|', value: '', values: ['slack.com', "it's.example"] },
      ],
    });
  });

  it('expands SQL variables as quoted literals', () => {
    const query: SaasQuery = { refId: 'A', queryType: 'sql', version: 2, rawSql: '$service' };
    const got = DataSource.prototype.applyTemplateVariables.call({} as DataSource, query, {});
    expect(got).toEqual({ refId: 'A', queryType: 'sql', version: 2, rawSql: "'slack.com','it''s.example'" });
  });
});
