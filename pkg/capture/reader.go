// Package capture reads packet capture files (pcap, pcapng, either gzip'd)
// and decodes their link, network and transport headers into Frames.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format names the container format of a capture file.
type Format string

const (
	FormatPcap   Format = "pcap"
	FormatPcapNs Format = "pcap-ns"
	FormatPcapNG Format = "pcapng"
)

// ReadError is a failure to read a capture file, located by byte offset.
// For a gzip'd file the offset counts uncompressed bytes.
type ReadError struct {
	Path       string
	Offset     int64
	Compressed bool
	Err        error
}

func (e *ReadError) Error() string {
	where := "offset"
	if e.Compressed {
		where = "uncompressed offset"
	}
	return fmt.Sprintf("%s: %s %d: %v", e.Path, where, e.Offset, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ErrNotCapture is the error (inside a ReadError) for a file that is not a
// capture at all, as opposed to a damaged one.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

var errClosed = errors.New("capture reader closed")

// readBufferSize is large enough that pcapgo's own bufio.NewReader returns
// our reader unchanged, which is what lets us compute record offsets.
const readBufferSize = 256 << 10

type countingReader struct {
	r io.Reader
	n int64
	// hash, when set, sees every uncompressed byte read.
	hash hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.hash != nil {
		c.hash.Write(p[:n])
	}
	return n, err
}

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader yields the records of one capture file in file order.
type Reader struct {
	path       string
	file       *os.File
	gz         *gzip.Reader
	counted    countingReader
	raw        *bufio.Reader
	buffered   *bufio.Reader
	format     Format
	compressed bool

	packets  packetReader
	ng       *pcapgo.NgReader
	linkType layers.LinkType
	// ifaceLinks caches pcapng interface link types by interface index.
	ifaceLinks []layers.LinkType
	// order is the byte order of pcap record headers, or of the current
	// pcapng section's blocks.
	order    binary.ByteOrder
	recordAt int64
	failed   error
}

// Open opens a capture file, detecting its format from its first bytes
// rather than its name.
func Open(path string) (*Reader, error) {
	return OpenHashed(path, nil)
}

// OpenHashed is Open, also feeding h every byte of the capture as
// uncompressed: a gzip'd file and its original hash the same. Call Drain
// after the last record so that h sees bytes past damage too.
func OpenHashed(path string, h hash.Hash) (*Reader, error) {
	f, err := OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	r, err := newReader(path, f, h)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// ErrNotRegular is the error for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenFile opens path for reading if it is a regular file. A FIFO would
// block the open until some writer came, and a pipe or device can be read
// only once, while a capture is sniffed, hashed and read again.
func OpenFile(path string) (*os.File, error) {
	// Non-blocking, so that opening a FIFO returns at once; it changes
	// nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (%s); save the capture to a file and name that", path, ErrNotRegular, info.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NewReader reads a capture from src; path is used only in errors.
func NewReader(path string, src io.Reader) (*Reader, error) {
	return newReader(path, src, nil)
}

// NewHashedReader is NewReader feeding h every byte of the capture as
// uncompressed, as OpenHashed does.
func NewHashedReader(path string, src io.Reader, h hash.Hash) (*Reader, error) {
	return newReader(path, src, h)
}

func newReader(path string, src io.Reader, h hash.Hash) (*Reader, error) {
	r := &Reader{path: path}
	r.counted.hash = h
	r.raw, r.buffered = pooledBuffer(src), pooledBuffer(&r.counted)
	if err := r.readHeader(); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// Read buffers are pooled: a run over thousands of small files would
// otherwise allocate two of them per open, several times per file.
var bufferPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

func pooledBuffer(src io.Reader) *bufio.Reader {
	b := bufferPool.Get().(*bufio.Reader)
	b.Reset(src)
	return b
}

func (r *Reader) release() {
	for _, b := range []*bufio.Reader{r.raw, r.buffered} {
		if b != nil {
			b.Reset(nil)
			bufferPool.Put(b)
		}
	}
	r.raw, r.buffered = nil, nil
}

func (r *Reader) readHeader() error {
	raw := r.raw
	head, err := raw.Peek(2)
	if err != nil {
		return r.errorAt(0, fmt.Errorf("reading file header: %w", eofIsUnexpected(err)))
	}
	var body io.Reader = raw
	if head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return r.errorAt(0, fmt.Errorf("gzip header: %w", err))
		}
		r.gz, r.compressed, body = gz, true, gz
	}
	var header [24]byte
	n, err := io.ReadFull(body, header[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errorAt(0, fmt.Errorf("reading file header: %w", eofIsUnexpected(err)))
	}
	if n < 4 {
		return r.errorAt(0, fmt.Errorf("reading magic number: %w", io.ErrUnexpectedEOF))
	}
	r.order = binary.LittleEndian
	switch m := binary.LittleEndian.Uint32(header[:4]); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		r.format = FormatPcap
		if m == 0xa1b23c4d {
			r.format = FormatPcapNs
		}
	case 0xd4c3b2a1, 0x4d3cb2a1:
		r.format, r.order = FormatPcap, binary.BigEndian
		if m == 0x4d3cb2a1 {
			r.format = FormatPcapNs
		}
	case 0x0a0d0d0a:
		r.format = FormatPcapNG
		if n >= 12 && binary.BigEndian.Uint32(header[8:12]) == pcapngByteOrderMagic {
			r.order = binary.BigEndian
		}
	default:
		return r.errorAt(0, fmt.Errorf("%w (magic %08x)", ErrNotCapture, m))
	}
	if r.format != FormatPcapNG && n == len(header) {
		acceptAnyMinorVersion(&header)
	}
	r.counted.r = io.MultiReader(bytes.NewReader(header[:n]), body)
	if r.format == FormatPcapNG {
		// Interface indexes restart in each pcapng section.
		opts := pcapgo.NgReaderOptions{WantMixedLinkType: true, SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { r.ifaceLinks = r.ifaceLinks[:0] }}
		ng, err := pcapgo.NewNgReader(r.buffered, opts)
		if err != nil {
			return r.errorAt(0, fmt.Errorf("pcapng section header: %w", err))
		}
		r.ng, r.packets, r.linkType = ng, ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(r.buffered)
		if err != nil {
			return r.errorAt(0, fmt.Errorf("pcap file header: %w", err))
		}
		r.packets, r.linkType = pr, pr.LinkType()
	}
	r.recordAt = r.offset()
	return nil
}

// acceptAnyMinorVersion rewrites a pcap 2.x header to 2.4: pcapgo takes
// only 2.4, while libpcap reads every 2.x file the same way, and fuzzers and
// old writers produce other minor versions.
func acceptAnyMinorVersion(h *[24]byte) {
	order := binary.ByteOrder(binary.LittleEndian)
	if h[0] != 0xd4 && h[0] != 0x4d {
		order = binary.BigEndian
	}
	if order.Uint16(h[4:6]) == 2 {
		order.PutUint16(h[6:8], 4)
	}
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) offset() int64 { return r.counted.n - int64(r.buffered.Buffered()) }

func (r *Reader) errorAt(off int64, err error) error {
	return &ReadError{Path: r.path, Offset: off, Compressed: r.compressed, Err: err}
}

// Format reports the detected container format.
func (r *Reader) Format() Format { return r.format }

// Compressed reports whether the file was gzip'd.
func (r *Reader) Compressed() bool { return r.compressed }

// Path is the file name given to Open.
func (r *Reader) Path() string { return r.path }

// Next returns the next packet record. The data is valid until the next call.
// At the clean end of the file it returns io.EOF; on damage it returns a
// *ReadError locating the record that could not be read, and keeps returning it.
func (r *Reader) Next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if r.failed != nil {
		return nil, gopacket.CaptureInfo{}, 0, r.failed
	}
	r.recordAt = r.offset()
	if err := r.checkRecordLength(); err != nil {
		r.failed = err
		return nil, gopacket.CaptureInfo{}, 0, err
	}
	data, ci, err := r.packets.ZeroCopyReadPacketData()
	if err != nil {
		if err == io.EOF {
			r.failed = io.EOF
		} else {
			r.failed = r.errorAt(r.recordAt, fmt.Errorf("reading packet record: %w", err))
		}
		return nil, ci, 0, r.failed
	}
	return data, ci, r.linkTypeOf(ci.InterfaceIndex), nil
}

// MaxRecordLength is the longest packet record taken: libpcap's and
// Wireshark's largest snap length, more than any link that carries IP
// gives. pcapgo takes a record of any length the file claims and grows its
// buffer with the bytes that follow, so a small gzip'd file claiming 4 GiB
// would take that much memory; a longer record is damage instead.
const MaxRecordLength = 262144

const (
	pcapngByteOrderMagic = 0x1a2b3c4d
	pcapngSectionHeader  = 0x0a0d0d0a
	pcapngPacket         = 2 // obsolete Packet Block
	pcapngSimplePacket   = 3
	pcapngEnhancedPacket = 6
	// pcapngLookahead bounds how many blocks are looked through for the
	// next packet: pcapgo reads past non-packet blocks in the same call.
	pcapngLookahead = 64
)

// checkRecordLength looks at the next record's header, still unread in
// the buffer, and refuses a claimed length over MaxRecordLength before
// pcapgo allocates for it. A short header is left to pcapgo to report.
func (r *Reader) checkRecordLength() error {
	if r.ng == nil {
		h, _ := r.buffered.Peek(16)
		if len(h) == 16 {
			if n := r.order.Uint32(h[8:12]); n > MaxRecordLength {
				return r.errorAt(r.recordAt, fmt.Errorf("record claims %d bytes, more than the longest packet any link carries (%d)", n, MaxRecordLength))
			}
		}
		return nil
	}
	off := 0
	for range pcapngLookahead {
		h, _ := r.buffered.Peek(off + 24)
		if len(h) < off+24 {
			return nil
		}
		b := h[off:]
		typ := r.order.Uint32(b[0:4])
		if typ == pcapngSectionHeader { // a new section may switch byte order
			switch {
			case binary.LittleEndian.Uint32(b[8:12]) == pcapngByteOrderMagic:
				r.order = binary.LittleEndian
			case binary.BigEndian.Uint32(b[8:12]) == pcapngByteOrderMagic:
				r.order = binary.BigEndian
			default:
				return nil
			}
		}
		claimed, isPacket := uint32(0), true
		switch typ {
		case pcapngEnhancedPacket, pcapngPacket:
			claimed = r.order.Uint32(b[20:24])
		case pcapngSimplePacket:
			claimed = r.order.Uint32(b[8:12])
		default:
			isPacket = false
		}
		if claimed > MaxRecordLength {
			return r.errorAt(r.recordAt+int64(off), fmt.Errorf("pcapng block claims a %d-byte packet, more than the longest any link carries (%d)", claimed, MaxRecordLength))
		}
		if isPacket {
			return nil
		}
		length := int(r.order.Uint32(b[4:8]))
		if length < 12 || length%4 != 0 || off+length+24 > readBufferSize {
			return nil // damage pcapgo reports, or a block too long to look past
		}
		off += length
	}
	return nil
}

func (r *Reader) linkTypeOf(iface int) layers.LinkType {
	if r.ng == nil {
		return r.linkType
	}
	if iface < len(r.ifaceLinks) {
		return r.ifaceLinks[iface]
	}
	for i := len(r.ifaceLinks); i < r.ng.NInterfaces(); i++ {
		in, err := r.ng.Interface(i)
		if err != nil {
			break
		}
		r.ifaceLinks = append(r.ifaceLinks, in.LinkType)
	}
	if iface < len(r.ifaceLinks) {
		return r.ifaceLinks[iface]
	}
	return r.linkType
}

// Consumed is the offset just past the last record read whole: where a
// later read of the same file, grown since, picks up.
func (r *Reader) Consumed() int64 { return r.recordAt }

// SkipTo passes over, undecoded, the records before offset (a record
// boundary that Consumed reported on an earlier read).
func (r *Reader) SkipTo(offset int64) error {
	if offset == 0 { // from the start
		return nil
	}
	for r.offset() < offset {
		if _, _, _, err := r.Next(); err != nil {
			return err
		}
	}
	if r.offset() != offset {
		return r.errorAt(r.offset(), fmt.Errorf("no record starts at offset %d", offset))
	}
	return nil
}

// Offset is how far reading has got, in uncompressed bytes.
func (r *Reader) Offset() int64 { return r.offset() }

// Abort makes the next call to Next return err: how a Handler stops a
// read early.
func (r *Reader) Abort(err error) {
	if r.failed == nil {
		r.failed = err
	}
}

// Drain reads the rest of the file without decoding it, so that the hash
// given to OpenHashed covers the whole content even after damage.
func (r *Reader) Drain() error {
	if _, err := io.Copy(io.Discard, &r.counted); err != nil {
		return fmt.Errorf("%s: reading to the end: %w", r.path, err)
	}
	return nil
}

// Close releases the file. The Reader is not to be used after.
func (r *Reader) Close() error {
	r.failed = errClosed
	r.release()
	if r.gz != nil {
		r.gz.Close()
	}
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}
