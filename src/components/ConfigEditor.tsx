import React, { ChangeEvent, useState } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, Switch, TextArea } from '@grafana/ui';

import { ClassifierPlugin, SaasOptions } from '../types';

function pluginLines(plugins: ClassifierPlugin[] | undefined): string {
  return (plugins ?? []).map((p) => (p.sha256 ? `${p.path}=${p.sha256}` : p.path)).join('\n');
}

function parsePluginLines(text: string): ClassifierPlugin[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [path, sha256] = l.split('=', 2).map((x) => x.trim());
      return sha256 ? { path, sha256 } : { path };
    });
}

type Props = DataSourcePluginOptionsEditorProps<SaasOptions>;

/** Every setting of the datasource; the backend's health check explains any it refuses. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData;
  const set = (patch: Partial<SaasOptions>) => onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  // Directories are edited as lines and committed on blur, so that a new,
  // still empty line is not dropped while typing.
  const [dirs, setDirs] = useState((jsonData.captureDirs ?? []).join('\n'));
  const [plugins, setPlugins] = useState(pluginLines(jsonData.classifierPlugins));

  return (
    <>
      <FieldSet label="Captures">
        <Field
          label="Capture directories"
          description="Directories (as the Grafana server sees them) where tcpdump or dumpcap write pcap, pcapng or gzip'd files; one per line. Subdirectories are read too."
        >
          <TextArea
            aria-label="Capture directories"
            rows={3}
            value={dirs}
            placeholder="/var/captures"
            onChange={(e: ChangeEvent<HTMLTextAreaElement>) => setDirs(e.currentTarget.value)}
            onBlur={() =>
              set({
                captureDirs: dirs
                  .split('\n')
                  .map((d) => d.trim())
                  .filter((d) => d !== ''),
              })
            }
          />
        </Field>
        <Field label="Ingest interval" description="How often new files are read, as a duration (30s, 5m, 1h); 0 reads only when asked.">
          <Input
            aria-label="Ingest interval"
            width={20}
            value={jsonData.ingestInterval ?? ''}
            placeholder="1m"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ ingestInterval: e.currentTarget.value })}
          />
        </Field>
        <Field label="Settle time" description="How long a file must go unmodified before it is read, so the file being written is left alone.">
          <Input
            aria-label="Settle time"
            width={20}
            value={jsonData.settle ?? ''}
            placeholder="10s"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ settle: e.currentTarget.value })}
          />
        </Field>
      </FieldSet>
      <FieldSet label="Classification">
        <Field
          label="Contracts file"
          description="A YAML file of your SaaS contracts (vendor, product, seats, monthly cost, renewal) and your tenants' server names, which come before the built-in catalog. Read again when it changes."
        >
          <Input
            aria-label="Contracts file"
            width={60}
            value={jsonData.contractsFile ?? ''}
            placeholder="/etc/saaslens/contracts.yaml"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ contractsFile: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Inventory file"
          description="A CSV of your devices (columns mac or address, device, user, department) that names them and lets every question be grouped by user or department. Read again when it changes."
        >
          <Input
            aria-label="Inventory file"
            width={60}
            value={jsonData.inventoryFile ?? ''}
            placeholder="/etc/saaslens/inventory.csv"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ inventoryFile: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Time zone"
          description="Months and days of the licence, shadow IT, month-over-month and devices questions are cut in it (an IANA name); UTC when empty."
        >
          <Input
            aria-label="Time zone"
            width={30}
            value={jsonData.timeZone ?? ''}
            placeholder="Asia/Tokyo"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ timeZone: e.currentTarget.value })}
          />
        </Field>
        <Field label="Home country" description="Two letters (ISO 3166-1), like JP: servers in other countries are flagged as abroad.">
          <Input
            aria-label="Home country"
            width={8}
            value={jsonData.homeCountry ?? ''}
            placeholder="JP"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ homeCountry: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Country database"
          description="A MaxMind-format country database (GeoLite2-Country, DB-IP Country) used instead of the built-in table."
        >
          <Input
            aria-label="Country database"
            width={60}
            value={jsonData.geoDatabase ?? ''}
            placeholder="/usr/share/GeoIP/GeoLite2-Country.mmdb"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ geoDatabase: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Classifier plugins"
          description="Programs asked first which service a server name is (see the SDK in pkg/classifiersdk). Only these run; one per line, as PATH or PATH=SHA256 to refuse a changed binary."
        >
          <TextArea
            aria-label="Classifier plugins"
            rows={2}
            value={plugins}
            placeholder="/usr/local/lib/saaslens/classifier-csv=<sha256>"
            onChange={(e: ChangeEvent<HTMLTextAreaElement>) => setPlugins(e.currentTarget.value)}
            onBlur={() => set({ classifierPlugins: parsePluginLines(plugins) })}
          />
        </Field>
      </FieldSet>
      <FieldSet label="Database">
        <Field
          label="Database file"
          description="The SQLite file SaaSLens writes; empty for a file per datasource in Grafana's data directory."
        >
          <Input
            aria-label="Database file"
            width={60}
            value={jsonData.databasePath ?? ''}
            placeholder="default: <Grafana data>/saaslens/<datasource uid>.db"
            onChange={(e: ChangeEvent<HTMLInputElement>) => set({ databasePath: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Store packets"
          description="One row per packet in the packets table, for the tutorial's stream join. Off keeps streams and every dashboard, in a much smaller file."
        >
          <Switch
            aria-label="Store packets"
            value={jsonData.storePackets ?? true}
            onChange={(e) => set({ storePackets: e.currentTarget.checked })}
          />
        </Field>
        <Field
          label="Retention (days)"
          description="Details older than this many days before the latest packet are deleted after each ingest; daily totals stay. 0 keeps everything."
        >
          <Input
            aria-label="Retention days"
            type="number"
            min={0}
            width={20}
            value={jsonData.retentionDays ?? 0}
            onChange={(e: ChangeEvent<HTMLInputElement>) => {
              const days = parseInt(e.currentTarget.value, 10);
              set({ retentionDays: Number.isNaN(days) ? 0 : days });
            }}
          />
        </Field>
      </FieldSet>
    </>
  );
}
