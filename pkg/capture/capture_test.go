package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
)

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

func readAll(t *testing.T, path string) (*capture.Summary, []capture.Frame, error) {
	t.Helper()
	var frames []capture.Frame
	s, err := capture.ReadFile(path, capture.NewDecoder(), func(f *capture.Frame) {
		c := *f
		c.Payload = append([]byte(nil), f.Payload...)
		frames = append(frames, c)
	})
	return s, frames, err
}

// Every public capture reads to its end with the packet count capinfos
// gives, whatever its format or link type; only the fuzzer's file fails,
// and then with the file and offset named.
func TestSharedCapturesRead(t *testing.T) {
	for _, c := range sharedtest.Captures(t) {
		t.Run(c.File, func(t *testing.T) {
			s, _, err := readAll(t, c.Path)
			if c.File == "fuzz-2021-10-13.pcap" {
				// Its first record claims 524501 bytes in a 239-byte file.
				var re *capture.ReadError
				if !errors.As(err, &re) || re.Offset != 24 || re.Path != c.Path {
					t.Fatalf("want a ReadError at offset 24 naming the file, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if int(s.Packets) != c.Packets {
				t.Errorf("read %d packets, capinfos counts %d", s.Packets, c.Packets)
			}
			var malformed uint64
			for k, n := range s.Other {
				if k.Class == capture.ClassMalformed || k.Class == capture.ClassLinkType {
					malformed += n
				}
			}
			if malformed > 0 {
				t.Errorf("%d packets not decoded: %v", malformed, s.OtherByName())
			}
		})
	}
}

func TestTruncatedFileKeepsRecordsBeforeTheDamage(t *testing.T) {
	path := testdata("truncated.pcap")
	s, frames, err := readAll(t, path)
	var re *capture.ReadError
	if !errors.As(err, &re) {
		t.Fatalf("want a ReadError, got %v", err)
	}
	if re.Offset != fixture.TruncatedRecordOffset || re.Path != path {
		t.Errorf("error at %s offset %d, want %s offset %d", re.Path, re.Offset, path, fixture.TruncatedRecordOffset)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset 252") {
		t.Errorf("message %q should name the file and offset", err)
	}
	if s.Packets != 3 || len(frames) != 3 || s.Err == nil {
		t.Errorf("got %d packets (%d frames), want the 3 whole ones", s.Packets, len(frames))
	}
}

func TestFormatFromMagicNotName(t *testing.T) {
	raw, err := os.ReadFile(testdata("lan.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "capture.pcapng") // wrong name on purpose
	if err := os.WriteFile(renamed, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _, err := readAll(t, renamed)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != capture.FormatPcap || !s.Compressed || s.Packets != 9 {
		t.Errorf("got %s compressed=%v packets=%d, want gzip'd pcap with 9 packets", s.Format, s.Compressed, s.Packets)
	}
	want := map[string]uint64{"ARP": 1, "STP": 1, "ICMP": 1}
	for name, n := range want {
		if s.OtherByName()[name] != n {
			t.Errorf("%s counted %d, want %d (all: %v)", name, s.OtherByName()[name], n, s.OtherByName())
		}
	}
}

func TestNotACaptureNamesFileAndOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.pcap")
	os.WriteFile(path, []byte("this is not a capture file"), 0o644)
	_, err := capture.ReadFile(path, capture.NewDecoder(), func(*capture.Frame) {})
	var re *capture.ReadError
	if !errors.As(err, &re) || re.Offset != 0 || !strings.Contains(err.Error(), "notes.pcap") {
		t.Fatalf("want a ReadError at offset 0 naming the file, got %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	if _, err := capture.ReadFile(empty, capture.NewDecoder(), func(*capture.Frame) {}); err == nil {
		t.Error("an empty file should be an error")
	}
}

func TestPcapngInterfacesWithDifferentLinkTypesAndResolutions(t *testing.T) {
	s, frames, err := readAll(t, testdata("two-linktypes.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.LinkTypes) != 2 || s.LinkTypes[0] != layers.LinkTypeEthernet || s.LinkTypes[1] != layers.LinkTypeRaw {
		t.Errorf("link types %v, want Ethernet then Raw", s.LinkTypes)
	}
	if s.Packets != 9 || len(frames) != 8 || s.OtherByName()["ARP"] != 1 {
		t.Errorf("packets %d, frames %d, other %v; want 9, 8 and the ARP in the simple packet block", s.Packets, len(frames), s.OtherByName())
	}
	// The raw interface counts nanoseconds: its first packet is 5ms+123ns in.
	var rawFirst int64
	for _, f := range frames {
		if f.LinkType == layers.LinkTypeRaw {
			rawFirst = f.Time
			break
		}
	}
	if got := rawFirst - s.First; got != 5_000_123 {
		t.Errorf("raw interface starts %dns after the first packet, want 5000123", got)
	}
}

func TestLinkLayers(t *testing.T) {
	for _, tc := range []struct {
		file   string
		frames int
		v6     bool
		mac    bool
	}{
		{"vlan-qinq.pcap", 7, false, true},
		{"sll2-dns.pcap", 5, false, true},
		{"ipv6-ext.pcap", 12, true, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, frames, err := readAll(t, testdata(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != tc.frames {
				t.Fatalf("%d TCP/UDP frames, want %d", len(frames), tc.frames)
			}
			for _, f := range frames {
				if f.Src.Is6() && !f.Src.Is4In6() != tc.v6 || f.HasMAC != tc.mac {
					t.Errorf("frame %v→%v v6=%v mac=%v", f.Src, f.Dst, f.Src.Is6(), f.HasMAC)
				}
			}
		})
	}
}

// The common path, an Ethernet/IPv4/TCP packet, decodes without allocating.
func TestDecodeDoesNotAllocate(t *testing.T) {
	r, err := capture.Open(testdata("segmented-clienthello.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, ci, link, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	dec := capture.NewDecoder()
	dec.Decode(data, ci, link) // first use builds the parser for the link type
	allocs := testing.AllocsPerRun(1000, func() {
		if ok, _ := dec.Decode(data, ci, link); !ok {
			t.Fatal("not decoded")
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per packet", allocs)
	}
}

// SkipTo lands on the record an earlier read stopped before.
func TestSkipToRecordBoundary(t *testing.T) {
	path := testdata("rotated-0.pcap")
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Next()
	r.Next()
	at := r.Offset()
	_, third, _, _ := r.Next()
	r.Close()

	r, err = capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SkipTo(at); err != nil {
		t.Fatal(err)
	}
	if _, ci, _, err := r.Next(); err != nil || !ci.Timestamp.Equal(third.Timestamp) {
		t.Errorf("after SkipTo(%d): %v, %v; want the third record at %v", at, ci.Timestamp, err, third.Timestamp)
	}
	r2, _ := capture.Open(path)
	defer r2.Close()
	if err := r2.SkipTo(at + 1); err == nil {
		t.Error("SkipTo inside a record succeeded")
	}
}

// bombHeaders are capture files whose first packet record claims
// 0xFFFFFFF0 bytes, at the offset given.
func bombHeaders() map[string]struct {
	head   []byte
	offset int64
} {
	le := binary.LittleEndian
	pcap := le.AppendUint32(nil, 0xa1b2c3d4)
	pcap = le.AppendUint16(pcap, 2)
	pcap = le.AppendUint16(pcap, 4)
	pcap = le.AppendUint32(pcap, 0)
	pcap = le.AppendUint32(pcap, 0)
	pcap = le.AppendUint32(pcap, 0xffffffff) // snap length: "any"
	pcap = le.AppendUint32(pcap, 1)
	for _, v := range []uint32{1, 0, 0xfffffff0, 0xfffffff0} {
		pcap = le.AppendUint32(pcap, v)
	}
	var ng []byte
	for _, v := range []uint32{0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28} { // section header
		ng = le.AppendUint32(ng, v)
	}
	for _, v := range []uint32{1, 20, 1, 0, 20} { // interface: Ethernet, no snap length
		ng = le.AppendUint32(ng, v)
	}
	for _, v := range []uint32{6, 0xfffffffc, 0, 0, 1, 0xfffffff0, 0xfffffff0} { // enhanced packet
		ng = le.AppendUint32(ng, v)
	}
	return map[string]struct {
		head   []byte
		offset int64
	}{"pcap": {pcap, 24}, "pcapng": {ng, 48}}
}

// A record claiming 4 GiB over a gzip'd stream of zeros is damage at its
// offset, read in bounded memory: pcapgo alone grows its buffer with every
// byte that follows, gigabytes for a file of a few megabytes.
func TestOversizedRecordIsDamageInBoundedMemory(t *testing.T) {
	const zerosMiB = 64
	var mib bytes.Buffer
	zw := gzip.NewWriter(&mib)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for name, bomb := range bombHeaders() {
		t.Run(name, func(t *testing.T) {
			var file bytes.Buffer
			zw := gzip.NewWriter(&file)
			zw.Write(bomb.head)
			zw.Close()
			for range zerosMiB { // gzip members concatenate into one stream
				file.Write(mib.Bytes())
			}
			path := filepath.Join(t.TempDir(), "bomb."+name+".gz")
			if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s, err := capture.ReadFile(path, capture.NewDecoder(), func(*capture.Frame) {})
			runtime.ReadMemStats(&after)
			var re *capture.ReadError
			if !errors.As(err, &re) || re.Offset != bomb.offset || re.Path != path || !re.Compressed {
				t.Fatalf("want a ReadError at uncompressed offset %d naming the file, got %v", bomb.offset, err)
			}
			if s.Packets != 0 {
				t.Errorf("read %d packets, want none", s.Packets)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
				t.Errorf("reading allocated %d MiB for a record over %d MiB of zeros; want under 8", got>>20, zerosMiB)
			}
		})
	}
}

// A FIFO (or a pipe named as /dev/stdin) is refused at once with a clear
// error; opening it for reading would wait for a writer forever.
func TestOpenRefusesAFIFOWithoutBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.pcap")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := capture.Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, capture.ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want ErrNotRegular naming the path", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

// A pcapng timestamp of 2^64-1 microseconds cannot be a time: the record
// is counted as untimed instead of dating a stream to 1969.
func TestUnrepresentableTimeIsUntimed(t *testing.T) {
	src, err := os.Open(testdata("rotated-0.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pr, err := pcapgo.NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := pr.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	var b []byte
	for _, v := range []uint32{0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28, 1, 20, 1, 0, 20} {
		b = le.AppendUint32(b, v)
	}
	epb := func(hi, lo uint32) {
		pad := (4 - len(data)%4) % 4
		n := uint32(32 + len(data) + pad)
		for _, v := range []uint32{6, n, 0, hi, lo, uint32(len(data)), uint32(len(data))} {
			b = le.AppendUint32(b, v)
		}
		b = append(b, data...)
		b = append(b, make([]byte, pad)...)
		b = le.AppendUint32(b, n)
	}
	us := uint64(ci.Timestamp.UnixMicro())
	epb(uint32(us>>32), uint32(us))
	epb(0xffffffff, 0xffffffff)
	path := filepath.Join(t.TempDir(), "late.pcapng")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, frames, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Packets != 2 || len(frames) != 1 || s.OtherByName()["untimed"] != 1 {
		t.Errorf("%d packets, %d streamed, other %v; want 2, 1, one untimed", s.Packets, len(frames), s.OtherByName())
	}
	if s.First != ci.Timestamp.UnixNano() || s.Last != s.First {
		t.Errorf("time span %d..%d, want the good record's %d", s.First, s.Last, ci.Timestamp.UnixNano())
	}
}

// Nesting is bounded: a packet of IP in IP up to eight headers deep is a
// stream, one deeper is malformed, decoded no further.
func TestTunnelNestingIsBounded(t *testing.T) {
	nested := func(depth int) []byte {
		ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}}
		for i := range depth {
			proto := layers.IPProtocolIPv4
			if i == depth-1 {
				proto = layers.IPProtocolTCP
			}
			ls = append(ls, &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: []byte{10, 0, 0, byte(i)}, DstIP: []byte{10, 0, 1, byte(i)}})
		}
		ls = append(ls, &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, DataOffset: 5})
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	dec := capture.NewDecoder()
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0)}
	if ok, kind := dec.Decode(nested(8), ci, layers.LinkTypeEthernet); !ok || dec.Frame.Tunnel.Kind != capture.TunnelIPinIP {
		t.Errorf("8 IP headers: streamed %v (%v), tunnel %v; want a stream in IP-in-IP", ok, kind, dec.Frame.Tunnel.Kind)
	}
	if ok, kind := dec.Decode(nested(9), ci, layers.LinkTypeEthernet); ok || kind.Class != capture.ClassMalformed {
		t.Errorf("9 IP headers: streamed %v, kind %v; want malformed", ok, kind)
	}
}
