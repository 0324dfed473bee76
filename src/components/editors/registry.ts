import { ComponentType } from 'react';

import { QueryType } from '../../types';
import { AlertEditor } from './AlertEditor';
import { TypeEditorProps } from './controls';
import { LatencyEditor } from './LatencyEditor';
import { LicencesEditor } from './LicencesEditor';
import { SqlEditor } from './SqlEditor';
import {
  DevicesEditor,
  GeoEditor,
  MonthOverMonthEditor,
  ServerNamesEditor,
  ShadowITEditor,
  StreamsEditor,
  UnclassifiedEditor,
} from './TableEditors';
import { UsageEditor } from './UsageEditor';

/** The types a panel offers: variable and annotations are their own editors'. */
export type PanelQueryType = Exclude<QueryType, 'variable' | 'annotations'>;

/** The editor of each query type a panel offers. */
export const editors: { [T in PanelQueryType]: ComponentType<TypeEditorProps<T>> } = {
  usage: UsageEditor,
  latency: LatencyEditor,
  licences: LicencesEditor,
  shadowIT: ShadowITEditor,
  unclassified: UnclassifiedEditor,
  monthOverMonth: MonthOverMonthEditor,
  devices: DevicesEditor,
  geo: GeoEditor,
  serverNames: ServerNamesEditor,
  streams: StreamsEditor,
  sql: SqlEditor,
  alert: AlertEditor,
};
