import React from 'react';
import { CodeEditor, CodeEditorSuggestionItem, CodeEditorSuggestionItemKind, Field, InlineFieldRow } from '@grafana/ui';

import { Meta, SqlQuery } from '../../types';
import { Choose, TypeEditorProps } from './controls';

/**
 * What completion offers: the backend's tables and views, their columns
 * (bare and as table.column) and the macros, each with what it is.
 */
export function sqlSuggestions(meta: Meta): CodeEditorSuggestionItem[] {
  const out: CodeEditorSuggestionItem[] = [];
  const columns = new Map<string, string[]>();
  for (const t of meta.tables) {
    out.push({ label: t.name, kind: CodeEditorSuggestionItemKind.Property, detail: `${t.view ? 'view' : 'table'}: ${t.columns.join(', ')}` });
    for (const c of t.columns) {
      out.push({ label: `${t.name}.${c}`, kind: CodeEditorSuggestionItemKind.Field, detail: `column of ${t.name}` });
      columns.set(c, [...(columns.get(c) ?? []), t.name]);
    }
  }
  for (const [c, tables] of columns) {
    out.push({ label: c, kind: CodeEditorSuggestionItemKind.Field, detail: `column of ${tables.join(', ')}` });
  }
  for (const m of meta.macros) {
    out.push({ label: `$__${m.name}`, kind: CodeEditorSuggestionItemKind.Method, detail: m.syntax, documentation: m.doc });
  }
  return out;
}

/** The SQL editor's help: the macros and tables the backend has. */
function sqlHelp(meta: Meta): string {
  const tables = meta.tables.map((t) => t.name).join(', ');
  return `One read-only SELECT over the SaaSLens tables (${tables || meta.tablesProblem || 'none yet'}). Times are Unix nanoseconds; $__timeFilter(col) keeps the panel's range. Ctrl+Space completes tables, columns and macros.`;
}

/** Raw SQL with Grafana-style macros; committed when the editor loses focus or on Ctrl+S. */
export function SqlEditor({ query, meta, onChange }: TypeEditorProps<'sql'>) {
  const commit = (rawSql: string) => {
    if (rawSql !== (query.rawSql ?? '')) {
      onChange({ ...query, rawSql });
    }
  };
  return (
    <>
      <InlineFieldRow>
        <Choose<NonNullable<SqlQuery['format']>> name="format" meta={meta} value={query.format} onChange={(format) => onChange({ ...query, format })} />
      </InlineFieldRow>
      <Field label="SQL" description={sqlHelp(meta)}>
        <div aria-label="SQL editor">
          <CodeEditor
            language="sql"
            value={query.rawSql ?? ''}
            height={200}
            showMiniMap={false}
            showLineNumbers
            getSuggestions={() => sqlSuggestions(meta)}
            onBlur={commit}
            onSave={commit}
          />
        </div>
      </Field>
    </>
  );
}
