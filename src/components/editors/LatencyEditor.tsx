import React from 'react';
import { InlineFieldRow } from '@grafana/ui';

import { LatencyQuery } from '../../types';
import { Choose, Count, FilterRows, GroupBy, Percentiles, TypeEditorProps } from './controls';

/** Handshake and round-trip percentiles, resets or retransmissions per group, over time or by day of month. */
export function LatencyEditor({ query, meta, datasource, range, onChange }: TypeEditorProps<'latency'>) {
  return (
    <>
      <InlineFieldRow>
        <GroupBy type="latency" meta={meta} value={query.groupBy} onChange={(groupBy) => onChange({ ...query, groupBy })} />
        <Choose name="measure" meta={meta} value={query.measure} onChange={(measure) => onChange({ ...query, measure })} />
        <Choose<NonNullable<LatencyQuery['view']>> name="view" meta={meta} value={query.view} onChange={(view) => onChange({ ...query, view })} />
        <Count name="topN" meta={meta} value={query.topN} onCommit={(topN) => onChange({ ...query, topN })} />
        <Percentiles meta={meta} value={query.percentiles} onChange={(percentiles) => onChange({ ...query, percentiles })} />
      </InlineFieldRow>
      <FilterRows query={query} meta={meta} datasource={datasource} range={range} onChange={onChange} />
    </>
  );
}
