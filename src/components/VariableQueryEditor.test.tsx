import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { VariableQueryEditor } from './VariableQueryEditor';
import type { DataSource } from '../datasource';
import meta from '../testdata/meta.json';

describe('VariableQueryEditor', () => {
  it('picks what the variable lists, of the lists the backend has', async () => {
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        query={{ refId: 'v', variable: 'services' }}
        onChange={onChange}
        onRunQuery={jest.fn()}
        datasource={{ getMeta: () => Promise.resolve(meta) } as unknown as DataSource}
      />
    );
    expect(await screen.findByRole('radio', { name: 'Services' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Unclassified' })).toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole('radio', { name: 'Clients' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'v', variable: 'clients' });
    await userEvent.setup().click(screen.getByRole('radio', { name: 'Vendors' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'v', variable: 'vendors' });
  });

  it('says why it has nothing to offer', async () => {
    render(
      <VariableQueryEditor
        query={{ refId: 'v', variable: 'services' }}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
        datasource={{ getMeta: () => Promise.reject(new Error('plugin unavailable')) } as unknown as DataSource}
      />
    );
    expect(await screen.findByText('plugin unavailable')).toBeInTheDocument();
  });
});
