import React from 'react';
import { InlineFieldRow } from '@grafana/ui';

import { Count, TypeEditorProps } from './controls';

/** Seats per contract and month against active devices and users; reads no filters, a contract is whole. */
export function LicencesEditor({ query, meta, onChange }: TypeEditorProps<'licences'>) {
  return (
    <InlineFieldRow>
      <Count name="idleDays" meta={meta} value={query.idleDays} onCommit={(idleDays) => onChange({ ...query, idleDays })} />
      <Count name="renewalDays" meta={meta} value={query.renewalDays} onCommit={(renewalDays) => onChange({ ...query, renewalDays })} />
    </InlineFieldRow>
  );
}
