import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { AnnotationQueryEditor } from './AnnotationQueryEditor';
import type { DataSource } from '../datasource';
import { SaasQuery } from '../types';
import meta from '../testdata/meta.json';

function Harness({ initial, seen }: { initial?: SaasQuery; seen: SaasQuery[] }) {
  const [query, setQuery] = React.useState(initial);
  return (
    <AnnotationQueryEditor
      query={query as SaasQuery}
      datasource={{ getMeta: () => Promise.resolve(meta) } as unknown as DataSource}
      onRunQuery={jest.fn()}
      onChange={(q) => {
        seen.push(q);
        setQuery(q);
      }}
    />
  );
}

describe('AnnotationQueryEditor', () => {
  it('starts a new annotation on new vendors and picks the events it marks', async () => {
    const seen: SaasQuery[] = [];
    render(<Harness seen={seen} />);
    const user = userEvent.setup();
    expect(await screen.findByRole('radio', { name: 'New SaaS vendors' })).toBeChecked();
    expect(seen).toEqual([{ refId: 'Anno', queryType: 'annotations', events: 'newVendors', version: 2 }]);
    expect(screen.queryByLabelText('Gap minutes')).not.toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'Coverage gaps' }));
    const gap = screen.getByLabelText('Gap minutes');
    expect(gap).toHaveValue(10);
    await user.clear(gap);
    await user.type(gap, '30');
    await user.tab();
    expect(seen[seen.length - 1]).toEqual({ refId: 'Anno', queryType: 'annotations', events: 'coverageGaps', gapMinutes: 30, version: 2 });
  });

  it('keeps a saved annotation as it is', async () => {
    const seen: SaasQuery[] = [];
    const saved: SaasQuery = { refId: 'Anno', queryType: 'annotations', events: 'captureProblems', version: 2 };
    render(<Harness initial={saved} seen={seen} />);
    expect(await screen.findByRole('radio', { name: 'Capture problems' })).toBeChecked();
    expect(seen).toEqual([]);
  });
});
