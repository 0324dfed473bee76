package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// ApplicationID marks a SaaSLens database in its header (PRAGMA
// application_id; "SLNS"). A path set by mistake to another program's
// SQLite file (Grafana's own grafana.db) must not be migrated, switched
// to WAL and written into, nor served to raw SQL panels: Open and
// OpenReader refuse a database without the mark unless it is empty or
// holds only SaaSLens tables (a database made before the mark, which
// Open then marks).
const ApplicationID = 0x534c4e53

// ErrNotOurs is returned for a database another program made.
var ErrNotOurs = errors.New("not a SaaSLens database")

// ourObjects are the tables and views any migration creates.
var ourObjects = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	re := regexp.MustCompile(`(?i)(?:CREATE\s+(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?|RENAME\s+TO\s+)(\w+)`)
	for _, m := range migrations {
		for _, g := range re.FindAllStringSubmatch(m, -1) {
			names[strings.ToLower(g[1])] = true
		}
	}
	return names
})

// checkOwner reads, and only reads, whether db is SaaSLens's; the error
// says whose it seems to be otherwise. marked tells whether the header
// already carries ApplicationID.
func checkOwner(ctx context.Context, db *sql.DB, path string) (marked bool, err error) {
	var id int32
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	if id == ApplicationID {
		return true, nil
	}
	if id != 0 {
		return false, fmt.Errorf("store: %s: %w: its application_id is %#x, another program's; choose another file", path, ErrNotOurs, uint32(id))
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer rows.Close()
	var foreign []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, fmt.Errorf("store: open %s: %w", path, err)
		}
		if !ourObjects()[strings.ToLower(name)] {
			foreign = append(foreign, name)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	if len(foreign) > 0 {
		shown := foreign[:min(len(foreign), 5)]
		more := ""
		if len(foreign) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(foreign)-len(shown))
		}
		return false, fmt.Errorf("store: %s: %w: it holds tables SaaSLens never made (%s%s); choose another file", path, ErrNotOurs, strings.Join(shown, ", "), more)
	}
	return false, nil
}
