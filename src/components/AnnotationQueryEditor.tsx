import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Alert, InlineFieldRow } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { AnnotationsQuery, QUERY_VERSION, SaasOptions, SaasQuery } from '../types';
import { Choose, Count } from './editors/controls';
import { useMeta } from './useMeta';
import { useMigratedQuery } from './useMigratedQuery';

type Props = QueryEditorProps<DataSource, SaasQuery, SaasOptions>;

/** What a new annotation marks until another is picked. */
export const DEFAULT_ANNOTATION: AnnotationsQuery = { refId: 'Anno', queryType: 'annotations', events: 'newVendors', version: QUERY_VERSION };

/** A saved annotation's query, or a new one when it has none (or another type's). */
const annotationOf = (q?: SaasQuery) => (q?.queryType === 'annotations' ? q : DEFAULT_ANNOTATION);

/** Picks the events a dashboard annotation marks: new vendors, coverage gaps or capture problems. */
export function AnnotationQueryEditor({ query: saved, onChange, datasource }: Props) {
  const { meta, error } = useMeta(datasource);
  const query = useMigratedQuery(saved, onChange, annotationOf);
  if (error) {
    return <Alert title="The datasource's events could not be read">{error}</Alert>;
  }
  if (!meta) {
    return <div>Loading…</div>;
  }
  return (
    <InlineFieldRow>
      <Choose<NonNullable<AnnotationsQuery['events']>> name="events" meta={meta} value={query.events} onChange={(events) => onChange({ ...query, events })} />
      {query.events === 'coverageGaps' && <Count name="gapMinutes" meta={meta} value={query.gapMinutes} onCommit={(gapMinutes) => onChange({ ...query, gapMinutes })} />}
    </InlineFieldRow>
  );
}
