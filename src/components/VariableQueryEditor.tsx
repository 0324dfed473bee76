import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Field, RadioButtonGroup } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { SaasOptions, SaasQuery, VariableKind, VariableQuery } from '../types';

const kinds: Array<{ label: string; value: VariableKind; description: string }> = [
  { label: 'Services', value: 'services', description: 'Server names seen, most used first' },
  { label: 'Vendors', value: 'vendors', description: 'SaaS vendors, by the catalog and your contracts' },
  { label: 'Products', value: 'products', description: 'Products of those vendors ("Microsoft Teams")' },
  { label: 'Categories', value: 'categories', description: 'Service categories (chat, storage, ...)' },
  { label: 'Clients', value: 'clients', description: 'Client addresses, with their DHCP host names' },
  { label: 'Users', value: 'users', description: 'Users of the devices seen, as the inventory file names them' },
  { label: 'Departments', value: 'departments', description: 'Departments of the devices seen, as the inventory file names them' },
  { label: 'Devices', value: 'devices', description: 'MAC addresses, named by DHCP' },
  { label: 'Unclassified', value: 'unclassified', description: 'Domains of the names no catalog knows, the most devices first' },
];

type Props = QueryEditorProps<DataSource, SaasQuery, SaasOptions, VariableQuery>;

/** Picks what a template variable lists. */
export function VariableQueryEditor({ query, onChange }: Props) {
  return (
    <Field label="List">
      <RadioButtonGroup<VariableKind>
        options={kinds}
        value={query.variable ?? 'services'}
        onChange={(variable) => onChange({ ...query, refId: query.refId ?? 'variable', variable })}
      />
    </Field>
  );
}
