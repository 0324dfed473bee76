package store

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// migrations build the schema step by step; PRAGMA user_version counts the
// steps applied. Append new steps, never edit a released one: databases in
// the field have already run it.
//
// Conventions, for whoever queries these tables: times are INTEGER Unix
// nanoseconds (UTC), durations INTEGER nanoseconds with an _ns suffix,
// addresses TEXT as Go and tshark print them, MACs lower-case colon hex.
var migrations = []string{
	// 1: the tutorial's packets and tls tables, streams, DNS, DHCP, devices,
	// the capture ledger, daily aggregates and the saved tracker state.
	`
CREATE TABLE captures (
	id          INTEGER PRIMARY KEY,
	path        TEXT NOT NULL,           -- where it was first found
	size        INTEGER NOT NULL,        -- bytes on disk
	mtime       INTEGER NOT NULL,
	content_hash TEXT NOT NULL UNIQUE,    -- xxh3-128 of the capture as uncompressed: a .gz and its original match
	format      TEXT NOT NULL,           -- pcap, pcap-ns, pcapng
	compressed  INTEGER NOT NULL,
	link_types  TEXT NOT NULL,           -- comma-separated
	packets     INTEGER NOT NULL,        -- records read
	bytes       INTEGER NOT NULL,        -- original lengths of those records
	ip_packets  INTEGER NOT NULL,        -- TCP and UDP packets, the ones in streams
	other       TEXT NOT NULL,           -- JSON object: packets that are not TCP/UDP, by kind (ARP, STP, ICMP, ...)
	first       INTEGER,                 -- first and last packet times
	last        INTEGER,
	status      TEXT NOT NULL,           -- ok, damaged (read up to the damage), unreadable
	error       TEXT,                    -- names the file and byte offset
	series      TEXT NOT NULL,           -- the directory whose files continue each other's streams
	continued   INTEGER NOT NULL,        -- 1 when streams carried over from the series' previous file
	read_from   INTEGER NOT NULL,        -- uncompressed offset reading started at: 0, or where an earlier, shorter version of the file ended
	read_to     INTEGER NOT NULL,        -- uncompressed offset just past the last whole record read
	packet_rows INTEGER NOT NULL,        -- 1 when its packets have rows in packets
	ingested_at INTEGER NOT NULL,
	ingest_ns   INTEGER NOT NULL
);
CREATE INDEX captures_first ON captures(first);
CREATE INDEX captures_size ON captures(size, mtime);

-- Every path a capture was seen under, so that a rescan skips known files
-- without reading them and a renamed copy is recognised.
CREATE TABLE capture_paths (
	path       TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	mtime      INTEGER NOT NULL,
	capture_id INTEGER NOT NULL REFERENCES captures(id)
);

CREATE TABLE packets (
	stream_id INTEGER NOT NULL,
	time      INTEGER NOT NULL,
	src       TEXT NOT NULL,
	dst       TEXT NOT NULL,
	proto     INTEGER NOT NULL,  -- IP protocol number: 6 TCP, 17 UDP
	sport     INTEGER NOT NULL,
	dport     INTEGER NOT NULL,
	length    INTEGER NOT NULL,  -- IP length
	direction INTEGER NOT NULL   -- 0 client to server, 1 server to client
);
CREATE INDEX packets_time ON packets(time);

CREATE TABLE tls (
	stream_id    INTEGER NOT NULL,
	time         INTEGER NOT NULL,
	src          TEXT NOT NULL,     -- the client
	dst          TEXT NOT NULL,
	sport        INTEGER NOT NULL,
	dport        INTEGER NOT NULL,
	server_name  TEXT NOT NULL,     -- SNI, '' when the client sent none
	alpn         TEXT NOT NULL,     -- offered protocols, comma-separated
	version      TEXT NOT NULL,     -- highest offered: TLS 1.3, TLS 1.2, ...
	transport    TEXT NOT NULL,     -- tcp or quic
	quic_version INTEGER,
	ech          INTEGER NOT NULL,  -- 1 when Encrypted Client Hello was offered
	capture_id   INTEGER NOT NULL
);
CREATE INDEX tls_time ON tls(time);
CREATE INDEX tls_stream ON tls(stream_id);

CREATE TABLE streams (
	id               INTEGER PRIMARY KEY,  -- packets.stream_id, tls.stream_id
	proto            INTEGER NOT NULL,
	client           TEXT NOT NULL,
	client_port      INTEGER NOT NULL,
	server           TEXT NOT NULL,
	server_port      INTEGER NOT NULL,
	client_mac       TEXT,
	first            INTEGER NOT NULL,
	last             INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,     -- up: client to server
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,     -- IP lengths
	bytes_down       INTEGER NOT NULL,
	payload_up       INTEGER NOT NULL,     -- TCP/UDP payload
	payload_down     INTEGER NOT NULL,
	tcp_flags_up     INTEGER NOT NULL,     -- union of the flags seen
	tcp_flags_down   INTEGER NOT NULL,
	server_rtt_ns    INTEGER,              -- SYN to SYN/ACK
	client_rtt_ns    INTEGER,              -- SYN/ACK to ACK
	tls_handshake_ns INTEGER,              -- ClientHello to ServerHello (QUIC: first Initial each way)
	server_name      TEXT NOT NULL,
	name_source      TEXT NOT NULL,        -- sni, quic, http, dns or ''
	alpn             TEXT NOT NULL,
	tls_version      TEXT NOT NULL,
	ech              INTEGER NOT NULL,
	quic_version     INTEGER,
	end_reason       TEXT NOT NULL,        -- open (still going), fin, rst, idle, reuse
	capture_id       INTEGER NOT NULL      -- the file that last updated it
);
CREATE INDEX streams_first ON streams(first);
CREATE INDEX streams_last ON streams(last);
CREATE INDEX streams_server_name ON streams(server_name, first);
CREATE INDEX streams_client ON streams(client, first);

-- One row per answer record of a DNS response (one row with empty answer
-- fields for a response without any).
CREATE TABLE dns (
	time       INTEGER NOT NULL,
	stream_id  INTEGER NOT NULL,
	client     TEXT NOT NULL,
	resolver   TEXT NOT NULL,
	query      TEXT NOT NULL,
	query_type INTEGER NOT NULL,
	rcode      INTEGER NOT NULL,
	name       TEXT NOT NULL,      -- the record's owner name
	type       INTEGER NOT NULL,   -- 1 A, 28 AAAA, 5 CNAME, 12 PTR; 0 for no answer
	ttl        INTEGER NOT NULL,
	answer     TEXT NOT NULL,      -- address for A/AAAA, target name for CNAME/PTR
	capture_id INTEGER NOT NULL
);
CREATE INDEX dns_time ON dns(time);
CREATE INDEX dns_answer ON dns(answer);

CREATE TABLE dhcp (
	time         INTEGER NOT NULL,
	stream_id    INTEGER NOT NULL,
	message_type TEXT NOT NULL,    -- DISCOVER, REQUEST, ACK, ...
	xid          INTEGER NOT NULL,
	mac          TEXT NOT NULL,    -- the client hardware address
	client_ip    TEXT,
	your_ip      TEXT,
	requested_ip TEXT,
	hostname     TEXT NOT NULL,
	vendor_class TEXT NOT NULL,
	capture_id   INTEGER NOT NULL
);
CREATE INDEX dhcp_time ON dhcp(time);

-- A device is a MAC address seen sending from a local address or in DHCP.
CREATE TABLE devices (
	mac           TEXT PRIMARY KEY,
	hostname      TEXT NOT NULL,   -- latest DHCP host name
	vendor_class  TEXT NOT NULL,   -- latest DHCP vendor class (e.g. MSFT 5.0, android-dhcp-14)
	first         INTEGER NOT NULL,
	last          INTEGER NOT NULL,
	packets       INTEGER NOT NULL,
	hostname_time INTEGER NOT NULL -- when the host name was last given
);

-- Which addresses a device used, over time: one row per stretch of use,
-- a new one after an hour without the address.
CREATE TABLE device_addresses (
	mac     TEXT NOT NULL,
	ip      TEXT NOT NULL,
	first   INTEGER NOT NULL,
	last    INTEGER NOT NULL,
	packets INTEGER NOT NULL
);
CREATE INDEX device_addresses_ip ON device_addresses(ip, first);
CREATE INDEX device_addresses_mac ON device_addresses(mac, ip, last);

-- Daily totals of streams by client and service; kept when retention
-- drops old streams, so long-range panels still have data.
CREATE TABLE usage_daily (
	day              INTEGER NOT NULL,  -- UTC midnight of the streams' first packet
	client           TEXT NOT NULL,
	client_mac       TEXT NOT NULL,
	server_name      TEXT NOT NULL,
	proto            INTEGER NOT NULL,
	server_port      INTEGER NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	PRIMARY KEY (day, client, client_mac, server_name, proto, server_port)
) WITHOUT ROWID;
CREATE INDEX usage_daily_server_name ON usage_daily(server_name, day);

-- What a series' stream tracker carries into its next file.
CREATE TABLE ingest_state (
	series     TEXT PRIMARY KEY,
	now        INTEGER NOT NULL,  -- latest packet time seen
	capture_id INTEGER NOT NULL,
	tracker    BLOB NOT NULL
);
`,
	// 2: the tracker's open streams and DNS names as rows, so that each
	// file's commit writes what changed rather than everything open.
	`
CREATE TABLE ingest_items (
	series TEXT NOT NULL,
	kind   INTEGER NOT NULL,  -- 1 open stream, 2 DNS name by client and address, 3 DNS name by address
	key    BLOB NOT NULL,
	value  BLOB NOT NULL,
	PRIMARY KEY (series, kind, key)
) WITHOUT ROWID;

-- How far stored traffic reaches: a stream starting later cannot be
-- stored yet, and the writer skips looking it up.
CREATE INDEX captures_last ON captures(last);
`,
	// 3: streams kept in the order they are written (an ordinary rowid),
	// roughly their start order, with the hash id a unique key: stored
	// by hash, every insert and every time-range read jumped across the
	// file (a flood of a million streams took 30 s to write).
	`
CREATE TABLE streams_by_time (
	id               INTEGER NOT NULL UNIQUE,  -- packets.stream_id, tls.stream_id
	proto            INTEGER NOT NULL,
	client           TEXT NOT NULL,
	client_port      INTEGER NOT NULL,
	server           TEXT NOT NULL,
	server_port      INTEGER NOT NULL,
	client_mac       TEXT,
	first            INTEGER NOT NULL,
	last             INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,     -- up: client to server
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,     -- IP lengths
	bytes_down       INTEGER NOT NULL,
	payload_up       INTEGER NOT NULL,     -- TCP/UDP payload
	payload_down     INTEGER NOT NULL,
	tcp_flags_up     INTEGER NOT NULL,     -- union of the flags seen
	tcp_flags_down   INTEGER NOT NULL,
	server_rtt_ns    INTEGER,              -- SYN to SYN/ACK
	client_rtt_ns    INTEGER,              -- SYN/ACK to ACK
	tls_handshake_ns INTEGER,              -- ClientHello to ServerHello (QUIC: first Initial each way)
	server_name      TEXT NOT NULL,
	name_source      TEXT NOT NULL,        -- sni, quic, http, dns or ''
	alpn             TEXT NOT NULL,
	tls_version      TEXT NOT NULL,
	ech              INTEGER NOT NULL,
	quic_version     INTEGER,
	end_reason       TEXT NOT NULL,        -- open (still going), fin, rst, idle, reuse, evicted
	capture_id       INTEGER NOT NULL      -- the file that last updated it
);
INSERT INTO streams_by_time SELECT * FROM streams ORDER BY first, id;
DROP TABLE streams;
ALTER TABLE streams_by_time RENAME TO streams;
CREATE INDEX streams_first ON streams(first);
CREATE INDEX streams_last ON streams(last);
CREATE INDEX streams_server_name ON streams(server_name, first);
CREATE INDEX streams_client ON streams(client, first);
`,
	// 4: which mirror session a stream came in, and the tunnels a file's
	// packets came encapsulated in.
	`
ALTER TABLE streams ADD COLUMN mirror_source TEXT NOT NULL DEFAULT '';  -- vxlan:VNI, erspan:SESSION, gre:KEY, geneve:VNI; '' when captured directly
ALTER TABLE captures ADD COLUMN tunneled TEXT NOT NULL DEFAULT '{}';    -- JSON object: packets by outermost tunnel ({"VXLAN":120})
`,
	// 5: hourly totals per service, so that a usage panel over a month
	// reads thousands of rows, not a row per stream (usage_daily has one
	// row per client too, about as many as streams in a busy office);
	// kept through retention like usage_daily. And packets by stream, so
	// that the tutorial's join by stream id reads its packets directly.
	`
CREATE TABLE usage_hourly (
	hour             INTEGER NOT NULL,  -- UTC hour of the streams' first packet
	server_name      TEXT NOT NULL,
	proto            INTEGER NOT NULL,
	server_port      INTEGER NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	PRIMARY KEY (hour, server_name, proto, server_port)
) WITHOUT ROWID;
CREATE INDEX usage_hourly_server_name ON usage_hourly(server_name, hour);
INSERT INTO usage_hourly
SELECT first / 3600000000000 * 3600000000000 - CASE WHEN first < 0 AND first % 3600000000000 != 0 THEN 3600000000000 ELSE 0 END,
	server_name, proto, server_port, count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first),
	sum(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN server_rtt_ns + client_rtt_ns ELSE 0 END),
	count(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN 1 END),
	sum(CASE WHEN tls_handshake_ns > 0 THEN tls_handshake_ns ELSE 0 END),
	count(CASE WHEN tls_handshake_ns > 0 THEN 1 END)
FROM streams GROUP BY 1, 2, 3, 4;
CREATE INDEX packets_stream ON packets(stream_id);
`,
	// 6: one spelling per thing. A stream without a client MAC has '' as
	// usage_daily already had (a key column cannot be NULL), not NULL; the
	// captures column counting TCP and UDP packets says so, as inspect
	// --json does.
	`
UPDATE streams SET client_mac = '' WHERE client_mac IS NULL;
ALTER TABLE captures RENAME COLUMN ip_packets TO tcp_udp_packets;
`,
	// 7: the service of each distinct server name (vendor, product,
	// category, kind and which source said so), joined in at query time so
	// that a catalog or contracts change relabels all history at once;
	// classification holds the fingerprint of what classified them.
	`
CREATE TABLE services (
	server_name TEXT PRIMARY KEY,
	vendor      TEXT NOT NULL,   -- '' when no source knows the name
	product     TEXT NOT NULL,
	category    TEXT NOT NULL,
	kind        TEXT NOT NULL,   -- saas, infra, or ''
	source      TEXT NOT NULL    -- plugin, contract, catalog, or ''
) WITHOUT ROWID;
CREATE INDEX services_vendor ON services(vendor);
CREATE TABLE classification (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	fingerprint   TEXT NOT NULL,
	classified_at INTEGER NOT NULL
);
`,
	// 8: the contracts the classification used, for the licence and
	// shadow IT questions; replaced whole whenever the contracts file is
	// read.
	`
CREATE TABLE contracts (
	vendor       TEXT NOT NULL,
	product      TEXT NOT NULL,
	category     TEXT NOT NULL,
	plan         TEXT NOT NULL,
	seats        INTEGER NOT NULL,
	monthly_cost REAL NOT NULL,
	currency     TEXT NOT NULL,
	start        TEXT NOT NULL,  -- YYYY-MM-DD or ''
	renewal      TEXT NOT NULL,
	owner        TEXT NOT NULL,
	patterns     TEXT NOT NULL   -- JSON list
);
`,
	// 9: client totals per hour instead of per day, so that days and months
	// can be cut in any time zone (Tokyo's month ends at 15:00 UTC), with
	// usage_daily a view over them for the SQL written against it. The
	// days whose streams retention already dropped keep their totals at
	// the day's first hour. And the streams active during a range found
	// through indexes: one lasting an hour or less started at most an
	// hour before the range, and the longer ones are few enough for a
	// partial index of their own (see query.activeFilter).
	`
CREATE TABLE client_usage_hourly (
	hour             INTEGER NOT NULL,  -- UTC hour of the streams' first packet
	client           TEXT NOT NULL,
	client_mac       TEXT NOT NULL,
	server_name      TEXT NOT NULL,
	proto            INTEGER NOT NULL,
	server_port      INTEGER NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	PRIMARY KEY (hour, client, client_mac, server_name, proto, server_port)
) WITHOUT ROWID;
INSERT INTO client_usage_hourly SELECT * FROM usage_daily;
INSERT INTO client_usage_hourly
SELECT first / 86400000000000 * 86400000000000 - CASE WHEN first < 0 AND first % 86400000000000 != 0 THEN 86400000000000 ELSE 0 END,
	client, client_mac, server_name, proto, server_port,
	-count(*), -sum(packets_up), -sum(packets_down), -sum(bytes_up), -sum(bytes_down), -sum(last - first),
	-sum(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN server_rtt_ns + client_rtt_ns ELSE 0 END),
	-count(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN 1 END),
	-sum(CASE WHEN tls_handshake_ns > 0 THEN tls_handshake_ns ELSE 0 END),
	-count(CASE WHEN tls_handshake_ns > 0 THEN 1 END)
FROM streams WHERE true GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET streams=streams+excluded.streams, packets_up=packets_up+excluded.packets_up,
	packets_down=packets_down+excluded.packets_down, bytes_up=bytes_up+excluded.bytes_up, bytes_down=bytes_down+excluded.bytes_down,
	duration_ns=duration_ns+excluded.duration_ns, rtt_sum_ns=rtt_sum_ns+excluded.rtt_sum_ns, rtt_count=rtt_count+excluded.rtt_count,
	handshake_sum_ns=handshake_sum_ns+excluded.handshake_sum_ns, handshake_count=handshake_count+excluded.handshake_count;
-- Left: what retention dropped from streams. A negative remainder would
-- be a day usage_daily missed; for it the streams are the truth.
DELETE FROM client_usage_hourly WHERE streams <= 0;
INSERT INTO client_usage_hourly
SELECT first / 3600000000000 * 3600000000000 - CASE WHEN first < 0 AND first % 3600000000000 != 0 THEN 3600000000000 ELSE 0 END,
	client, client_mac, server_name, proto, server_port,
	count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first),
	sum(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN server_rtt_ns + client_rtt_ns ELSE 0 END),
	count(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN 1 END),
	sum(CASE WHEN tls_handshake_ns > 0 THEN tls_handshake_ns ELSE 0 END),
	count(CASE WHEN tls_handshake_ns > 0 THEN 1 END)
FROM streams WHERE true GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET streams=streams+excluded.streams, packets_up=packets_up+excluded.packets_up,
	packets_down=packets_down+excluded.packets_down, bytes_up=bytes_up+excluded.bytes_up, bytes_down=bytes_down+excluded.bytes_down,
	duration_ns=duration_ns+excluded.duration_ns, rtt_sum_ns=rtt_sum_ns+excluded.rtt_sum_ns, rtt_count=rtt_count+excluded.rtt_count,
	handshake_sum_ns=handshake_sum_ns+excluded.handshake_sum_ns, handshake_count=handshake_count+excluded.handshake_count;
-- No index beside the key: the hour leads it, every reader asks for a
-- range of hours, and each index cost the writer a b-tree insert per row.
DROP TABLE usage_daily;
CREATE VIEW usage_daily AS
SELECT hour / 86400000000000 * 86400000000000 - CASE WHEN hour < 0 AND hour % 86400000000000 != 0 THEN 86400000000000 ELSE 0 END AS day,
	client, client_mac, server_name, proto, server_port,
	sum(streams) AS streams, sum(packets_up) AS packets_up, sum(packets_down) AS packets_down,
	sum(bytes_up) AS bytes_up, sum(bytes_down) AS bytes_down, sum(duration_ns) AS duration_ns,
	sum(rtt_sum_ns) AS rtt_sum_ns, sum(rtt_count) AS rtt_count,
	sum(handshake_sum_ns) AS handshake_sum_ns, sum(handshake_count) AS handshake_count
FROM client_usage_hourly GROUP BY 1, 2, 3, 4, 5, 6;
CREATE INDEX streams_long ON streams(first) WHERE last - first > 3600000000000;
-- Retention finds ended streams by first too (last < t implies first < t),
-- and every insert paid for this index.
DROP INDEX streams_last;
`,
	// 10: the company's device inventory (inventory.Load): names, users and
	// departments of devices, by MAC or address; replaced whole whenever
	// the inventory file is read, joined in at query time.
	`
CREATE TABLE inventory (
	key        TEXT PRIMARY KEY,  -- a MAC (as client_mac) or an address (as client)
	device     TEXT NOT NULL,
	user       TEXT NOT NULL,
	department TEXT NOT NULL
) WITHOUT ROWID;
`,
	// 11: TCP segments that repeated bytes already seen, per direction
	// (flow.Stream.Retransmits): retransmissions, or reordering before the
	// capture point. Streams stored before count none.
	`
ALTER TABLE streams ADD COLUMN retransmits_up INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN retransmits_down INTEGER NOT NULL DEFAULT 0;
`,
	// 12: packet rows without the 5-tuple their stream already holds:
	// writing the addresses and ports again for every packet took a third
	// of an ingest with packet rows. The tutorial's packets table is a view
	// that reads them from the stream, and only for a query that asks for
	// them: a subquery per column rather than a join, so that SQLite looks
	// nothing up for the join by stream id, and can still put the view on
	// the right of a LEFT JOIN without materialising it.
	`
CREATE TABLE stream_packets (
	stream_id INTEGER NOT NULL,  -- streams.id
	time      INTEGER NOT NULL,
	length    INTEGER NOT NULL,  -- IP length
	direction INTEGER NOT NULL   -- 0 client to server, 1 server to client
);
INSERT INTO stream_packets(rowid, stream_id, time, length, direction)
	SELECT rowid, stream_id, time, length, direction FROM packets ORDER BY rowid;
DROP TABLE packets;
CREATE INDEX stream_packets_time ON stream_packets(time);
CREATE INDEX stream_packets_stream ON stream_packets(stream_id);
CREATE VIEW packets AS
SELECT p.stream_id, p.time,
	(SELECT CASE p.direction WHEN 0 THEN client ELSE server END FROM streams WHERE id = p.stream_id) AS src,
	(SELECT CASE p.direction WHEN 0 THEN server ELSE client END FROM streams WHERE id = p.stream_id) AS dst,
	(SELECT proto FROM streams WHERE id = p.stream_id) AS proto,
	(SELECT CASE p.direction WHEN 0 THEN client_port ELSE server_port END FROM streams WHERE id = p.stream_id) AS sport,
	(SELECT CASE p.direction WHEN 0 THEN server_port ELSE client_port END FROM streams WHERE id = p.stream_id) AS dport,
	p.length, p.direction
FROM stream_packets p;
`,
	// 13: totals per hour, service name and server address, for where the
	// servers are (query.Geo) over ranges too long to read stream by
	// stream: usage_hourly has no addresses, client_usage_hourly one row
	// per client. Built from the streams stored; kept through retention.
	`
CREATE TABLE server_usage_hourly (
	hour             INTEGER NOT NULL,  -- UTC hour of the streams' first packet
	server_name      TEXT NOT NULL,
	server           TEXT NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	PRIMARY KEY (hour, server_name, server)
) WITHOUT ROWID;
INSERT INTO server_usage_hourly
SELECT first / 3600000000000 * 3600000000000 - CASE WHEN first < 0 AND first % 3600000000000 != 0 THEN 3600000000000 ELSE 0 END,
	server_name, server, count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first),
	sum(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN server_rtt_ns + client_rtt_ns ELSE 0 END),
	count(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN 1 END),
	sum(CASE WHEN tls_handshake_ns > 0 THEN tls_handshake_ns ELSE 0 END),
	count(CASE WHEN tls_handshake_ns > 0 THEN 1 END)
FROM streams GROUP BY 1, 2, 3;
`,
	// 14: histograms per measure, hour and server name of the handshake
	// times, and of resets and retransmissions as flags (latencyTotals),
	// for percentiles over ranges too long to read stream by stream.
	// Each histogram is a blob of the package histogram's encoding: a
	// table of buckets would be a row per bucket, as many as streams.
	// Built from the streams stored (buildLatencyHourly, Go's buckets);
	// kept through retention.
	`
CREATE TABLE latency_hourly (
	measure     TEXT NOT NULL,     -- tls, serverRtt, clientRtt (ns); resets, retransmits (flags, 0 or 1)
	hour        INTEGER NOT NULL,  -- UTC hour of the streams' first packet
	server_name TEXT NOT NULL,
	streams     INTEGER NOT NULL,  -- streams counted: the histogram's total
	histogram   BLOB NOT NULL,     -- per bucket, its distance from the previous one and its count, as varints
	PRIMARY KEY (measure, hour, server_name)
) WITHOUT ROWID;
`,
	// 15: totals per UTC day, client, server name, protocol and port, the
	// usage_daily view's rows kept in a table: a month of an office's
	// hourly totals per client is a million rows, its daily ones an eighth
	// of that, for what counts devices or sums per client over whole days
	// (query.clientTotals takes the hours at a range's edges from the
	// hourly totals). Built from the view, so from client_usage_hourly,
	// and days whose streams retention dropped keep their totals; kept
	// through retention. The view now reads the table.
	`
CREATE TABLE client_usage_daily (
	day              INTEGER NOT NULL,  -- UTC day of the streams' first packet (midnight, ns)
	client           TEXT NOT NULL,
	client_mac       TEXT NOT NULL,
	server_name      TEXT NOT NULL,
	proto            INTEGER NOT NULL,
	server_port      INTEGER NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	PRIMARY KEY (day, client, client_mac, server_name, proto, server_port)
) WITHOUT ROWID;
INSERT INTO client_usage_daily SELECT * FROM usage_daily;
DROP VIEW usage_daily;
CREATE VIEW usage_daily AS SELECT * FROM client_usage_daily;
`,
	// 16: the daily totals per client say in which of the day's UTC hours
	// streams started (hours, a bit per hour), so that what counts days
	// or hours a device was active in reads a day's row, not 24 hourly
	// ones: a device's days active in an office's zone, whose days a UTC
	// day does not cut, and active devices per hour. Rebuilt from the
	// hourly totals (buildDailyTotals), as migration 15 built it; the view
	// keeps its columns.
	`
DROP VIEW usage_daily;
DROP TABLE client_usage_daily;
CREATE TABLE client_usage_daily (
	day              INTEGER NOT NULL,  -- UTC day of the streams' first packet (midnight, ns)
	client           TEXT NOT NULL,
	client_mac       TEXT NOT NULL,
	server_name      TEXT NOT NULL,
	proto            INTEGER NOT NULL,
	server_port      INTEGER NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	hours            INTEGER NOT NULL,  -- bit h set: a stream started in the day's hour h (UTC), client_usage_hourly has its row
	PRIMARY KEY (day, client, client_mac, server_name, proto, server_port)
) WITHOUT ROWID;
CREATE VIEW usage_daily AS SELECT day, client, client_mac, server_name, proto, server_port, streams, packets_up, packets_down,
	bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count FROM client_usage_daily;
`,
	// 17: totals per month, client and server name, with the days of the
	// month and the first and last hours streams started in, for what
	// counts devices or sums per client over whole months (licences, month
	// over month, devices, server names): an office's month is a few
	// thousand of these against 150 thousand daily rows, which SQLite had
	// to sort. Months and days are the office's, in the zone rollup_zone
	// names (the datasource's timeZone: SetRollupZone rebuilds the table
	// when it changes); a stream counts in the month and day of the hour
	// it started in. Built from client_usage_hourly in UTC
	// (buildMonthlyTotals); kept through retention.
	`
CREATE TABLE rollup_zone (
	zone TEXT NOT NULL  -- IANA name of the zone client_usage_monthly's months and days are cut in
);
INSERT INTO rollup_zone VALUES ('UTC');
CREATE TABLE client_usage_monthly (
	month            INTEGER NOT NULL,  -- the month's first instant in rollup_zone's zone (ns)
	client           TEXT NOT NULL,
	client_mac       TEXT NOT NULL,
	server_name      TEXT NOT NULL,
	streams          INTEGER NOT NULL,
	packets_up       INTEGER NOT NULL,
	packets_down     INTEGER NOT NULL,
	bytes_up         INTEGER NOT NULL,
	bytes_down       INTEGER NOT NULL,
	duration_ns      INTEGER NOT NULL,
	rtt_sum_ns       INTEGER NOT NULL,
	rtt_count        INTEGER NOT NULL,
	handshake_sum_ns INTEGER NOT NULL,
	handshake_count  INTEGER NOT NULL,
	days             INTEGER NOT NULL,  -- bit d-1 set: a stream started on the month's day d
	first_hour       INTEGER NOT NULL,  -- UTC hour (ns) the first and the last of the streams started in
	last_hour        INTEGER NOT NULL,
	PRIMARY KEY (month, client, client_mac, server_name)
) WITHOUT ROWID;
`,
	// 18: each name's registrable domain (the public suffix list's eTLD+1),
	// so that the names no source classifies group by whoever registered
	// them: shadow IT's unclassified candidates. Filled in Go
	// (buildServiceDomains): SQL knows no public suffix list.
	`
ALTER TABLE services ADD COLUMN domain TEXT NOT NULL DEFAULT '';
CREATE INDEX services_unclassified ON services(domain) WHERE source = '';
`,
	// 19: the daily and monthly totals are built from the hourly ones when
	// a day closes (DB.CloseDays), not upserted by every file: a directory
	// rotating every minute rewrote the same rows 1,440 times a day.
	// rollup_zone.closed is where they end; readers take the hours after it
	// from the hourly totals. They hold every hour so far: closed is the
	// midnight after the last one (closeAfterTotals). usage_daily, for
	// SQL of its own, sums the open days' hours itself.
	`
ALTER TABLE rollup_zone ADD COLUMN closed INTEGER NOT NULL DEFAULT -9223372036854775808;
DROP VIEW usage_daily;
CREATE VIEW usage_daily AS SELECT day, client, client_mac, server_name, proto, server_port, streams, packets_up, packets_down,
	bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count FROM client_usage_daily
UNION ALL SELECT hour - ((hour % 86400000000000) + 86400000000000) % 86400000000000, client, client_mac, server_name, proto, server_port,
	sum(streams), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(duration_ns),
	sum(rtt_sum_ns), sum(rtt_count), sum(handshake_sum_ns), sum(handshake_count)
FROM client_usage_hourly WHERE hour >= (SELECT closed FROM rollup_zone) GROUP BY 1, 2, 3, 4, 5, 6;
`,
}

// builds fill what a migration created, in the migration's transaction,
// keyed by the migration's number: what SQL cannot compute, and what a
// Rebuild function also builds for streams written by SQL.
var builds = map[int]func(context.Context, *sql.Tx) error{
	14: buildLatencyHourly,
	16: buildDailyTotals,
	17: buildMonthlyTotalsAndStatistics,
	18: buildServiceDomains,
	19: closeAfterTotals,
}

// buildMonthlyTotalsAndStatistics builds client_usage_monthly in UTC and
// gives it, and client_usage_daily that migration 16 rebuilt (dropping its
// statistics), the planner's statistics: without them SQLite chose worse
// plans for the daily rows of a month (bytes per department: 0.36 s, 0.24 s
// with them).
func buildMonthlyTotalsAndStatistics(ctx context.Context, tx *sql.Tx) error {
	if err := buildMonthlyTotals(ctx, tx, time.UTC, math.MinInt64, math.MaxInt64); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `ANALYZE client_usage_daily; ANALYZE client_usage_monthly`)
	return err
}
