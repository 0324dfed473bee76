package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
)

// rowInserter writes the rows of one INSERT many at a time, straight to
// the driver: one statement per row through database/sql cost more in
// statement steps, argument copies and boxing than SQLite's own b-tree
// work (30 µs a stream row on real traffic). Rows wait in args until the
// statement is full, or until flush: before anything reads the table in
// the file's transaction, and when the file ends.
type rowInserter struct {
	cols, perStatement int
	// many takes perStatement rows; one takes a single row, for the rest.
	many, one driver.StmtExecContext
	args      []driver.NamedValue
	pending   int
}

// insertSQL is "INSERT OR FAIL INTO table(columns) VALUES (?,…),… suffix"
// with rows row groups; suffix may be an ON CONFLICT clause.
//
// OR FAIL, because a statement of many rows that may abort halfway makes
// SQLite copy every page it changes to a statement journal, to undo the
// statement alone: that was a third of an ingest's time. Nothing needs
// it undone alone: any failure rolls back the file's whole transaction.
func insertSQL(table string, cols, rows int, suffix string) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return "INSERT OR FAIL INTO " + table + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",") + " " + suffix
}

// prepareInserter prepares the statements inserting into table (a name
// and its column list) on the driver connection.
func prepareInserter(ctx context.Context, prep driver.ConnPrepareContext, keep *[]driver.Stmt, table string, cols, perStatement int, suffix string) (*rowInserter, error) {
	r := &rowInserter{cols: cols, perStatement: perStatement, args: make([]driver.NamedValue, cols*perStatement)}
	for i := range r.args {
		r.args[i].Ordinal = i + 1
	}
	for _, p := range []struct {
		dst  *driver.StmtExecContext
		rows int
	}{{&r.many, perStatement}, {&r.one, 1}} {
		st, err := prep.PrepareContext(ctx, insertSQL(table, cols, p.rows, suffix))
		if err != nil {
			return nil, fmt.Errorf("preparing inserts into %s: %w", strings.Fields(table)[0], err)
		}
		*keep = append(*keep, st)
		exec, ok := st.(driver.StmtExecContext)
		if !ok {
			return nil, fmt.Errorf("driver statement %T cannot execute with a context", st)
		}
		*p.dst = exec
	}
	return r, nil
}

// row returns the arguments of the next row to fill, writing the pending
// rows first when the statement is full.
func (r *rowInserter) row(ctx context.Context, conn *sql.Conn) ([]driver.NamedValue, error) {
	if r.pending == r.perStatement {
		if err := r.flush(ctx, conn); err != nil {
			return nil, err
		}
	}
	r.pending++
	return r.args[(r.pending-1)*r.cols : r.pending*r.cols], nil
}

// flush writes the pending rows.
func (r *rowInserter) flush(ctx context.Context, conn *sql.Conn) error {
	if r.pending == 0 {
		return nil
	}
	n := r.pending
	r.pending = 0
	return conn.Raw(func(any) error {
		if n == r.perStatement {
			_, err := r.many.ExecContext(ctx, r.args)
			return err
		}
		for i := range n {
			row := r.args[i*r.cols : (i+1)*r.cols]
			// The one-row statement numbers its arguments from 1.
			for j := range row {
				row[j].Ordinal = j + 1
			}
			_, err := r.one.ExecContext(ctx, row)
			for j := range row {
				row[j].Ordinal = i*r.cols + j + 1
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// discard forgets the pending rows: the file is being rolled back.
func (r *rowInserter) discard() { r.pending = 0 }
