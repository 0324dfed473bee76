import { useEffect, useMemo } from 'react';

import { migrateQuery } from '../queries';
import { SaasQuery } from '../types';

/**
 * The saved query in the current model (or what `fit` makes of it), handed
 * back through onChange once when it differs, so the dashboard saves the
 * migrated form; nothing runs.
 */
export function useMigratedQuery<Q extends SaasQuery>(saved: SaasQuery | undefined, onChange: (q: SaasQuery) => void, fit: (q?: SaasQuery) => Q): Q {
  const query = useMemo(() => fit(saved && migrateQuery(saved)), [saved, fit]);
  useEffect(() => {
    if (query !== saved) {
      onChange(query);
    }
  }, [query, saved, onChange]);
  return query;
}
