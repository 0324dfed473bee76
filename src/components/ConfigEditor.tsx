import React, { ChangeEvent, useState } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, Switch, TextArea } from '@grafana/ui';

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

type ReportLanguage = NonNullable<SaasOptions['reportLanguage']> | '';

const reportLanguages: Array<{ label: string; value: ReportLanguage }> = [
  { label: 'By time zone', value: '' },
  { label: 'English', value: 'en' },
  { label: '日本語', value: 'ja' },
];

/** A setting typed as text: a duration, a path, a zone or a country. */
function TextSetting(props: {
  label: string;
  description: string;
  width: number;
  placeholder: string;
  value?: string;
  onChange: (v: string) => void;
}) {
  const { label, description, width, placeholder, value, onChange } = props;
  return (
    <Field label={label} description={description}>
      <Input
        aria-label={label}
        width={width}
        value={value ?? ''}
        placeholder={placeholder}
        onChange={(e: ChangeEvent<HTMLInputElement>) => onChange(e.currentTarget.value)}
      />
    </Field>
  );
}

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
        <TextSetting
          label="Ingest interval"
          description="How often new files are read, as a duration (30s, 5m, 1h); 0 reads only when asked."
          width={20}
          placeholder="1m"
          value={jsonData.ingestInterval}
          onChange={(v) => set({ ingestInterval: v })}
        />
        <TextSetting
          label="Settle time"
          description="How long a file must go unmodified before it is read, so the file being written is left alone."
          width={20}
          placeholder="10s"
          value={jsonData.settle}
          onChange={(v) => set({ settle: v })}
        />
      </FieldSet>
      <FieldSet label="Classification">
        <TextSetting
          label="Contracts file"
          description="A YAML file of your SaaS contracts (vendor, product, seats, monthly cost, renewal) and your tenants' server names, which come before the built-in catalog. Read again when it changes."
          width={60}
          placeholder="/etc/saaslens/contracts.yaml"
          value={jsonData.contractsFile}
          onChange={(v) => set({ contractsFile: v })}
        />
        <TextSetting
          label="Catalog file"
          description="Your own catalog, in the built-in catalog's YAML format (vendor, product, category, kind, patterns, ranges): names the built-in catalog does not know, or names it gets wrong for you. Its entries come after the contracts and before the built-in ones. Read again when it changes."
          width={60}
          placeholder="/etc/saaslens/catalog.yaml"
          value={jsonData.catalogFile}
          onChange={(v) => set({ catalogFile: v })}
        />
        <TextSetting
          label="Inventory file"
          description="A CSV of your devices (columns mac or address, device, user, department) that names them and lets every question be grouped by user or department. Read again when it changes."
          width={60}
          placeholder="/etc/saaslens/inventory.csv"
          value={jsonData.inventoryFile}
          onChange={(v) => set({ inventoryFile: v })}
        />
        <TextSetting
          label="Time zone"
          description="Months and days of the licence, shadow IT, month-over-month and devices questions are cut in it (an IANA name); UTC when empty."
          width={30}
          placeholder="Asia/Tokyo"
          value={jsonData.timeZone}
          onChange={(v) => set({ timeZone: v })}
        />
        <TextSetting
          label="Home country"
          description="Two letters (ISO 3166-1), like JP: servers in other countries are flagged as abroad."
          width={8}
          placeholder="JP"
          value={jsonData.homeCountry}
          onChange={(v) => set({ homeCountry: v })}
        />
        <TextSetting
          label="Country database"
          description="A MaxMind-format country database (GeoLite2-Country, DB-IP Country) used instead of the built-in table."
          width={60}
          placeholder="/usr/share/GeoIP/GeoLite2-Country.mmdb"
          value={jsonData.geoDatabase}
          onChange={(v) => set({ geoDatabase: v })}
        />
        <Field
          label="Classifier plugins"
          description="Programs asked first which service a server name is (see the SDK in pkg/classifiersdk). Only these run, each as the binary its checksum names: one per line, as PATH=SHA256 (sha256sum PATH gives it)."
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
        <TextSetting
          label="Database file"
          description="The SQLite file SaaSLens writes; empty for a file per datasource in Grafana's data directory."
          width={60}
          placeholder="default: <Grafana data>/saaslens/<datasource uid>.db"
          value={jsonData.databasePath}
          onChange={(v) => set({ databasePath: v })}
        />
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
      <FieldSet label="Monthly report">
        <TextSetting
          label="Report directory"
          description="Each month's report (one HTML file to mail or print: licences, shadow IT, response times, servers abroad) is written here once the captures pass the month's end. Empty writes none; the dashboards' Monthly report link makes one when asked either way."
          width={60}
          placeholder="/var/lib/grafana/saaslens/reports"
          value={jsonData.reportDir}
          onChange={(v) => set({ reportDir: v })}
        />
        <Field label="Report language" description="Japanese for an Asia/Tokyo time zone and English otherwise, unless chosen here.">
          <RadioButtonGroup<ReportLanguage>
            aria-label="Report language"
            options={reportLanguages}
            value={jsonData.reportLanguage ?? ''}
            onChange={(v) => set({ reportLanguage: v === '' ? undefined : v })}
          />
        </Field>
      </FieldSet>
    </>
  );
}
