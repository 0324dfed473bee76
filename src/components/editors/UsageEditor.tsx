import React from 'react';
import { InlineFieldRow } from '@grafana/ui';

import { Choose, Count, FilterRows, GroupBy, TypeEditorProps } from './controls';

/** A metric per group over time: bytes, streams, clients or active devices. */
export function UsageEditor({ query, meta, datasource, range, onChange }: TypeEditorProps<'usage'>) {
  return (
    <>
      <InlineFieldRow>
        <GroupBy type="usage" meta={meta} value={query.groupBy} onChange={(groupBy) => onChange({ ...query, groupBy })} />
        <Choose name="metric" meta={meta} value={query.metric} onChange={(metric) => onChange({ ...query, metric })} />
        <Count name="topN" meta={meta} value={query.topN} onCommit={(topN) => onChange({ ...query, topN })} />
      </InlineFieldRow>
      <FilterRows query={query} meta={meta} datasource={datasource} range={range} onChange={onChange} />
    </>
  );
}
