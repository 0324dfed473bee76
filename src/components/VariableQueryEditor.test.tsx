import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { VariableQueryEditor } from './VariableQueryEditor';
import type { DataSource } from '../datasource';

describe('VariableQueryEditor', () => {
  it('picks what the variable lists', async () => {
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        query={{ refId: 'v', variable: 'services' }}
        onChange={onChange}
        onRunQuery={jest.fn()}
        datasource={{} as DataSource}
      />
    );
    expect(screen.getByRole('radio', { name: 'Services' })).toBeChecked();
    await userEvent.setup().click(screen.getByRole('radio', { name: 'Clients' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'v', variable: 'clients' });
    await userEvent.setup().click(screen.getByRole('radio', { name: 'Vendors' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'v', variable: 'vendors' });
  });
});
