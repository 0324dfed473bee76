package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Table is a table or view of the database as a reader sees it: what the
// SQL editor offers and docs/database.md lists.
type Table struct {
	Name    string   `json:"name"`
	View    bool     `json:"view,omitempty"`
	Columns []string `json:"columns"`
}

// Tables lists the database's tables and views with their columns, by
// name; SQLite's own and the ingest bookkeeping (ingest_state,
// ingest_items: the tracker's saved state) left out.
func Tables(ctx context.Context, db *sql.DB) ([]Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.name, m.type = 'view', c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND m.name NOT IN ('ingest_state', 'ingest_items')
		ORDER BY m.name, c.cid`)
	if err != nil {
		return nil, fmt.Errorf("store: tables: %w", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var table, column string
		var view bool
		if err := rows.Scan(&table, &view, &column); err != nil {
			return nil, fmt.Errorf("store: tables: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Name != table {
			out = append(out, Table{Name: table, View: view})
		}
		out[len(out)-1].Columns = append(out[len(out)-1].Columns, column)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tables: %w", err)
	}
	return out, nil
}

// Schema is the current schema as SQL, every table, index and view as a
// migrated database holds it, sorted: what schema.sql keeps.
func Schema(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, tbl_name, name`)
	if err != nil {
		return "", fmt.Errorf("store: schema: %w", err)
	}
	defer rows.Close()
	var out string
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			return "", fmt.Errorf("store: schema: %w", err)
		}
		out += stmt + ";\n\n"
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("store: schema: %w", err)
	}
	return out, nil
}
