import React from 'react';
import { InlineFieldRow } from '@grafana/ui';

import { GroupedQuery, ListQuery, QueryOf } from '../../types';
import { Count, FilterRows, GroupBy, TypeEditorProps } from './controls';

type ListType = 'shadowIT' | 'unclassified' | 'streams';
type GroupedType = 'monthOverMonth' | 'devices' | 'geo' | 'serverNames';

/** A table whose rows the type fixes: a row limit and the filters. */
function ListEditor<T extends ListType>({ query, meta, datasource, range, onChange }: TypeEditorProps<T>) {
  const q = query as ListQuery<T>;
  const emit = (next: ListQuery<T>) => onChange(next as QueryOf<T>);
  return (
    <>
      <InlineFieldRow>
        <Count name="limit" meta={meta} value={q.limit} onCommit={(limit) => emit({ ...q, limit })} />
      </InlineFieldRow>
      <FilterRows query={q} meta={meta} datasource={datasource} range={range} onChange={emit} />
    </>
  );
}

/** A table with a row per group: what a row is, a row limit and the filters. */
function GroupedEditor<T extends GroupedType>({ query, meta, datasource, range, onChange }: TypeEditorProps<T>) {
  const q = query as GroupedQuery<T>;
  const emit = (next: GroupedQuery<T>) => onChange(next as QueryOf<T>);
  return (
    <>
      <InlineFieldRow>
        <GroupBy type={q.queryType} meta={meta} value={q.groupBy} onChange={(groupBy) => emit({ ...q, groupBy })} />
        <Count name="limit" meta={meta} value={q.limit} onCommit={(limit) => emit({ ...q, limit })} />
      </InlineFieldRow>
      <FilterRows query={q} meta={meta} datasource={datasource} range={range} onChange={emit} />
    </>
  );
}

/** SaaS in use no contract covers, and names no catalog knows. */
export const ShadowITEditor = (p: TypeEditorProps<'shadowIT'>) => <ListEditor {...p} />;
/** Names no catalog knows, by registrable domain. */
export const UnclassifiedEditor = (p: TypeEditorProps<'unclassified'>) => <ListEditor {...p} />;
/** One row per stream, as in the tutorial. */
export const StreamsEditor = (p: TypeEditorProps<'streams'>) => <ListEditor {...p} />;
/** The range's last month against the one before, per group. */
export const MonthOverMonthEditor = (p: TypeEditorProps<'monthOverMonth'>) => <GroupedEditor {...p} />;
/** Which devices use each group: first and last use, days active. */
export const DevicesEditor = (p: TypeEditorProps<'devices'>) => <GroupedEditor {...p} />;
/** Streams and bytes per group and server country. */
export const GeoEditor = (p: TypeEditorProps<'geo'>) => <GroupedEditor {...p} />;
/** One row per group: accesses, bytes, clients. */
export const ServerNamesEditor = (p: TypeEditorProps<'serverNames'>) => <GroupedEditor {...p} />;
