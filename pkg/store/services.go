package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/inventory"
)

// ClassifyNames gives every server name in the database its service: only
// names not classified yet, or all of them when the classifier's
// fingerprint differs from the one that classified the stored ones (the
// catalog, the contracts or a plugin changed). It returns how many names
// it classified.
func (s *DB) ClassifyNames(ctx context.Context, c *classify.Classifier) (int, error) {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	defer tx.Rollback()
	var stored sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT fingerprint FROM classification WHERE id = 1`).Scan(&stored)
	if err != nil && err != sql.ErrNoRows {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	names := `SELECT DISTINCT server_name FROM usage_hourly WHERE server_name != ''`
	if stored.String == c.Fingerprint() {
		names = `SELECT n.server_name FROM (` + names + `) n WHERE n.server_name NOT IN (SELECT server_name FROM services)`
	} else if _, err := tx.ExecContext(ctx, `DELETE FROM services`); err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	rows, err := tx.QueryContext(ctx, names)
	if err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	var list []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: classify: %w", err)
		}
		list = append(list, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	results, pluginErr := c.ClassifyAll(ctx, list)
	insert, err := tx.PrepareContext(ctx, `INSERT INTO services(server_name, vendor, product, category, kind, source, domain) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	defer insert.Close()
	for i, n := range list {
		r := results[i]
		if _, err := insert.ExecContext(ctx, n, r.Vendor, r.Product, r.Category, r.Kind, r.Source, classify.Domain(n)); err != nil {
			return 0, fmt.Errorf("store: classify %q: %w", n, err)
		}
	}
	// Names a failed plugin could not answer are stored as the contracts
	// and the catalog say; no fingerprint makes the next run ask again.
	fingerprint := c.Fingerprint()
	if pluginErr != nil {
		fingerprint = ""
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO classification(id, fingerprint, classified_at) VALUES (1, ?, ?)
		ON CONFLICT(id) DO UPDATE SET fingerprint = excluded.fingerprint, classified_at = excluded.classified_at`,
		fingerprint, time.Now().UnixNano()); err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: classify: %w", err)
	}
	if pluginErr != nil {
		return len(list), fmt.Errorf("store: classify: %w (names fell back to the contracts and the catalog)", pluginErr)
	}
	return len(list), nil
}

// buildServiceDomains gives the names classified before migration 18 their
// registrable domain.
func buildServiceDomains(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT server_name FROM services`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	update, err := tx.PrepareContext(ctx, `UPDATE services SET domain = ? WHERE server_name = ?`)
	if err != nil {
		return err
	}
	defer update.Close()
	for _, n := range names {
		if _, err := update.ExecContext(ctx, classify.Domain(n), n); err != nil {
			return err
		}
	}
	return nil
}

// SaveContracts replaces the stored contracts with these.
func (s *DB) SaveContracts(ctx context.Context, contracts []classify.Contract) error {
	return s.replaceTable(ctx, "contracts", func(tx *sql.Tx) error {
		for _, k := range contracts {
			patterns, err := json.Marshal(k.Patterns)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO contracts(vendor, product, category, plan, seats, monthly_cost, currency, start, renewal, owner, patterns)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`, k.Vendor, k.Product, k.Category, k.Plan, k.Seats, k.MonthlyCost, k.Currency, k.Start, k.Renewal, k.Owner, string(patterns)); err != nil {
				return err
			}
		}
		return nil
	})
}

// SaveInventory replaces the inventory table with entries.
func (s *DB) SaveInventory(ctx context.Context, entries []inventory.Entry) error {
	return s.replaceTable(ctx, "inventory", func(tx *sql.Tx) error {
		for _, e := range entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO inventory(key, device, user, department) VALUES (?,?,?,?)`,
				e.Key, e.Device, e.User, e.Department); err != nil {
				return fmt.Errorf("%s:%d: %w", e.File, e.Line, err)
			}
		}
		return nil
	})
}

// replaceTable empties table and fills it again in one transaction, so
// that readers see the old rows or the new ones, never a part.
func (s *DB) replaceTable(ctx context.Context, table string, fill func(tx *sql.Tx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	defer tx.Rollback()
	// table is one of this package's names, never input.
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	if err := fill(tx); err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	return nil
}
