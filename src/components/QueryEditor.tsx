import React, { ComponentType } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Alert, InlineField, InlineFieldRow, Select } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { switchType } from '../queries';
import { Meta, QueryType, SaasOptions, SaasQuery } from '../types';
import { TypeEditorProps } from './editors/controls';
import { editors, PanelQueryType } from './editors/registry';
import { useMeta } from './useMeta';
import { useMigratedQuery } from './useMigratedQuery';

type Props = QueryEditorProps<DataSource, SaasQuery, SaasOptions>;

function isPanelType(type: string): type is PanelQueryType {
  return Object.prototype.hasOwnProperty.call(editors, type);
}

/** A panel's query is always given: Grafana makes it from getDefaultQuery. */
const asSaved = (q?: SaasQuery) => q as SaasQuery;

/** The query as the type picked: a grouping the new type does not take is dropped. */
function asType(query: SaasQuery, type: QueryType, meta: Meta): SaasQuery {
  const next = switchType(query, type) as SaasQuery & { groupBy?: string };
  const allowed = meta.queryTypes.find((t) => t.name === type)?.groupings;
  if (next.groupBy && allowed && !allowed.includes(next.groupBy)) {
    delete next.groupBy;
  }
  return next;
}

/**
 * The query type picker, then that type's own editor (editors/registry).
 * A query saved by an older model is migrated when the editor opens.
 */
export function QueryEditor({ query: saved, onChange, onRunQuery, datasource, range }: Props) {
  const { meta, error } = useMeta(datasource);
  const query = useMigratedQuery(saved, onChange, asSaved);
  if (error) {
    return <Alert title="The datasource's query types could not be read">{error}</Alert>;
  }
  if (!meta) {
    return <div>Loading…</div>;
  }
  const change = (q: SaasQuery, run = true) => {
    onChange(q);
    if (run) {
      onRunQuery();
    }
  };
  const type = query.queryType;
  const Editor = isPanelType(type) ? (editors[type] as unknown as ComponentType<TypeEditorProps<PanelQueryType>>) : undefined;
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={12}>
          <Select<string>
            aria-label="Query type"
            width={32}
            options={meta.queryTypes.filter((t) => !t.internal).map((t) => ({ label: t.label, value: t.name, description: t.description }))}
            value={type}
            onChange={(v) => change(asType(query, v.value as QueryType, meta))}
          />
        </InlineField>
      </InlineFieldRow>
      {Editor ? (
        <Editor query={query as never} meta={meta} datasource={datasource} range={range} onChange={change as never} />
      ) : (
        <Alert title={`Unknown query type "${type}"`} severity="warning">
          Pick one of the types above.
        </Alert>
      )}
    </>
  );
}
