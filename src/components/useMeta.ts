import { useEffect, useState } from 'react';

import type { DataSource } from '../datasource';
import { Meta } from '../types';

/** The backend's meta resource, or why it could not be had; undefined while it loads. */
export function useMeta(datasource: DataSource): { meta?: Meta; error?: string } {
  const [state, setState] = useState<{ meta?: Meta; error?: string }>({});
  useEffect(() => {
    let live = true;
    datasource.getMeta().then(
      (meta) => live && setState({ meta }),
      (err) => live && setState({ error: String(err?.data?.error ?? err?.data?.message ?? err?.message ?? err) })
    );
    return () => {
      live = false;
    };
  }, [datasource]);
  return state;
}
