import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { expandList, sqlQuote } from './datasource';

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
