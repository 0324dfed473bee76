import React from 'react';
import { InlineFieldRow } from '@grafana/ui';

import { AlertQuery } from '../../types';
import { Choose, FilterRows, TypeEditorProps } from './controls';

/**
 * A signal for an alert rule: a number per label set (vendor, contract or
 * capture directory) that a threshold expression compares. The filters
 * narrow the vendors of the vendor signals.
 */
export function AlertEditor({ query, meta, datasource, range, onChange }: TypeEditorProps<'alert'>) {
  return (
    <>
      <InlineFieldRow>
        <Choose<NonNullable<AlertQuery['signal']>> name="signal" meta={meta} value={query.signal} onChange={(signal) => onChange({ ...query, signal })} />
      </InlineFieldRow>
      <FilterRows query={query} meta={meta} datasource={datasource} range={range} onChange={onChange} />
    </>
  );
}
