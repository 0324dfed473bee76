import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { SaasOptions } from '../types';
import meta from '../testdata/meta.json';

function settings(jsonData: SaasOptions): DataSourceSettings<SaasOptions> {
  return { id: 1, uid: 'saaslens', name: 'SaaSLens', type: 'saaslens-pcap-datasource', jsonData } as unknown as DataSourceSettings<SaasOptions>;
}

const provisioned: SaasOptions = {
  captureDirs: ['/var/lib/saaslens/captures', '/mnt/office'],
  databasePath: '/var/lib/grafana/saaslens/saaslens.db',
  ingestInterval: '1m',
  storePackets: true,
  retentionDays: 30,
  settle: '10s',
  contractsFile: '/etc/saaslens/contracts.yaml',
  inventoryFile: '/etc/saaslens/inventory.csv',
  homeCountry: 'JP',
};

// A controlled editor, as Grafana renders it: every change comes back as
// the new options.
function Harness({ initial, seen }: { initial: SaasOptions; seen: SaasOptions[] }) {
  const [options, setOptions] = React.useState(settings(initial));
  return (
    <ConfigEditor
      options={options}
      onOptionsChange={(o) => {
        seen.push(o.jsonData);
        setOptions(o);
      }}
    />
  );
}

describe('ConfigEditor', () => {
  it('shows every setting as stored', () => {
    render(<ConfigEditor options={settings(provisioned)} onOptionsChange={jest.fn()} />);
    expect(screen.getByLabelText('Capture directories')).toHaveValue('/var/lib/saaslens/captures\n/mnt/office');
    expect(screen.getByLabelText('Database file')).toHaveValue('/var/lib/grafana/saaslens/saaslens.db');
    expect(screen.getByLabelText('Ingest interval')).toHaveValue('1m');
    expect(screen.getByLabelText('Settle time')).toHaveValue('10s');
    expect(screen.getByLabelText('Contracts file')).toHaveValue('/etc/saaslens/contracts.yaml');
    expect(screen.getByLabelText('Inventory file')).toHaveValue('/etc/saaslens/inventory.csv');
    expect(screen.getByLabelText('Home country')).toHaveValue('JP');
    expect(screen.getByLabelText('Retention days')).toHaveValue(30);
    expect(screen.getByLabelText('Store packets')).toBeChecked();
  });

  it('round-trips every setting into jsonData', async () => {
    const seen: SaasOptions[] = [];
    render(<Harness initial={{}} seen={seen} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Capture directories'), '/srv/a\n\n  /srv/b  \n');
    await user.tab();
    await user.type(screen.getByLabelText('Ingest interval'), '5m');
    await user.type(screen.getByLabelText('Settle time'), '30s');
    await user.type(screen.getByLabelText('Database file'), '/data/s.db');
    await user.type(screen.getByLabelText('Contracts file'), '/etc/c.yaml');
    await user.type(screen.getByLabelText('Catalog file'), '/etc/k.yaml');
    await user.type(screen.getByLabelText('Time zone'), 'Asia/Tokyo');
    await user.type(screen.getByLabelText('Inventory file'), '/etc/i.csv');
    await user.type(screen.getByLabelText('Home country'), 'DE');
    await user.type(screen.getByLabelText('Country database'), '/geo/c.mmdb');
    await user.type(screen.getByLabelText('Classifier plugins'), '/opt/p1\n/opt/p2=abc123\n');
    await user.tab();
    await user.click(screen.getByLabelText('Store packets'));
    await user.clear(screen.getByLabelText('Retention days'));
    await user.type(screen.getByLabelText('Retention days'), '90');
    await user.type(screen.getByLabelText('Report directory'), '/srv/reports');
    await user.click(screen.getByLabelText('English'));
    expect(seen[seen.length - 1]).toEqual({
      captureDirs: ['/srv/a', '/srv/b'],
      ingestInterval: '5m',
      settle: '30s',
      databasePath: '/data/s.db',
      contractsFile: '/etc/c.yaml',
      catalogFile: '/etc/k.yaml',
      timeZone: 'Asia/Tokyo',
      inventoryFile: '/etc/i.csv',
      homeCountry: 'DE',
      geoDatabase: '/geo/c.mmdb',
      classifierPlugins: [{ path: '/opt/p1' }, { path: '/opt/p2', sha256: 'abc123' }],
      storePackets: false,
      retentionDays: 90,
      reportDir: '/srv/reports',
      reportLanguage: 'en',
    });
    // Every setting the backend reads (its meta resource) is edited here.
    expect(Object.keys(seen[seen.length - 1]).sort()).toEqual(meta.settings.map((s) => s.name).sort());
  });

  it('leaves the report language to the time zone until one is chosen', async () => {
    const seen: SaasOptions[] = [];
    render(<Harness initial={{ reportLanguage: 'ja' }} seen={seen} />);
    expect(screen.getByLabelText('日本語')).toBeChecked();
    await userEvent.setup().click(screen.getByLabelText('By time zone'));
    expect(seen[seen.length - 1].reportLanguage).toBeUndefined();
  });

  it('keeps what it does not edit', async () => {
    const seen: SaasOptions[] = [];
    render(<Harness initial={{ ...provisioned, timeInterval: '1m' } as SaasOptions} seen={seen} />);
    await userEvent.setup().click(screen.getByLabelText('Store packets'));
    expect(seen[0]).toEqual({ ...provisioned, timeInterval: '1m', storePackets: false });
  });
});
