import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Alert, Field, RadioButtonGroup } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { SaasOptions, SaasQuery, VariableQuery } from '../types';
import { useMeta } from './useMeta';

type Props = QueryEditorProps<DataSource, SaasQuery, SaasOptions, VariableQuery>;

/** Picks what a template variable lists, of the lists the backend has. */
export function VariableQueryEditor({ query, onChange, datasource }: Props) {
  const { meta, error } = useMeta(datasource);
  if (error) {
    return <Alert title="The datasource's lists could not be read">{error}</Alert>;
  }
  if (!meta) {
    return <div>Loading…</div>;
  }
  return (
    <Field label="List">
      <RadioButtonGroup<string>
        options={meta.variables.map((v) => ({ label: v.label, value: v.name, description: v.description }))}
        value={query.variable ?? (meta.defaults.variable as string)}
        onChange={(variable) => onChange({ ...query, refId: query.refId ?? 'variable', variable })}
      />
    </Field>
  );
}
