package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A raw SQL query comes from whoever may edit a panel, and runs inside the
// Grafana server. Two layers keep it to reading the SaaSLens database:
// CheckStatement refuses what is not one read statement before SQLite sees
// it, and authorize (SQLite's authorizer, consulted as each statement is
// compiled) denies every operation but reading, whatever the text hides.
// ATTACH is the one that matters most: it would let a panel read any
// SQLite file the server can, Grafana's own database included.

// ErrRefused marks a statement refused as not read-only.
var ErrRefused = errors.New("only a read-only SELECT may run")

// CheckStatement accepts one statement starting with SELECT, WITH, VALUES
// or EXPLAIN (comments and a trailing semicolon allowed).
func CheckStatement(text string) error {
	words, statements := scanSQL(text)
	if statements > 1 {
		return fmt.Errorf("%w: found %d statements, run one at a time", ErrRefused, statements)
	}
	if len(words) == 0 {
		return fmt.Errorf("%w: the query is empty", ErrRefused)
	}
	switch words[0] {
	case "SELECT", "WITH", "VALUES", "EXPLAIN":
	default:
		return fmt.Errorf("%w: %s is not allowed", ErrRefused, words[0])
	}
	for _, w := range words {
		switch w {
		case "ATTACH", "DETACH", "VACUUM", "PRAGMA", "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "REINDEX", "ANALYZE":
			return fmt.Errorf("%w: %s is not allowed", ErrRefused, w)
		}
	}
	return nil
}

// scanSQL returns the upper-cased bare words of text outside quotes and
// comments, and how many statements it holds.
func scanSQL(text string) (words []string, statements int) {
	inStatement := false
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				i = len(text)
			} else {
				i += end + 4
			}
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := i + 1
			for j < len(text) && text[j] != closer {
				j++
			}
			i = j + 1
			if !inStatement {
				inStatement = true
				statements++
			}
		case c == ';':
			inStatement = false
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			if !inStatement {
				inStatement = true
				statements++
			}
			j := i
			for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			if j == i {
				i++
				continue
			}
			words = append(words, strings.ToUpper(text[i:j]))
			i = j
		}
	}
	return words, statements
}

// readPragmas are the pragmas that only describe the schema, which a
// query builder or a user exploring the tables may use as table-valued
// functions (pragma_table_info('streams')).
var readPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true,
}

// authorize allows reading and calling functions, nothing else.
func authorize(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	case sqlite.AuthPragma:
		// These only ever read; their argument names a table or index.
		if readPragmas[strings.ToLower(arg1)] {
			return sqlite.AuthorizerOK
		}
	}
	return sqlite.AuthorizerDeny
}

// A query runs inside the Grafana server's plugin process, where running
// out of memory takes ingest down with it and no recover() helps; so what
// one query may hold is bounded. SQLite refuses a string or blob past
// maxValueBytes as it makes it (zeroblob(999999999) fails at once), and
// queryFrame stops a result past maxResultBytes, counting each value's
// bytes and its overhead as it reads the rows. The frame Grafana receives
// is built from those rows, so its encoding is bounded too.
const (
	maxValueBytes  = 16 << 20
	maxResultBytes = 64 << 20
)

// readOnlyConn returns a connection of db that SQLite itself keeps to
// reading and to values of at most maxValueBytes; the caller closes it.
func readOnlyConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	err = conn.Raw(func(driverConn any) error {
		r, ok := driverConn.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("the SQLite driver offers no authorizer")
		}
		return r.RegisterAuthorizer(authorize)
	})
	if err == nil {
		_, err = sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, maxValueBytes)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read-only connection: %w", err)
	}
	return conn, nil
}
