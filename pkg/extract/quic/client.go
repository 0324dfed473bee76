package quic

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/saaslens/saaslens/pkg/extract/tls"
	"github.com/saaslens/saaslens/pkg/reassembly"
)

// MaxCrypto bounds the CRYPTO stream kept per connection; a ClientHello is
// a few kB even with post-quantum key shares.
const MaxCrypto = 32 << 10

// Client follows the Initial packets a client sends on one connection until
// its ClientHello is complete. The ClientHello may span several CRYPTO
// frames, in any order, over several Initial packets.
type Client struct {
	// Version is the QUIC version of the client's first Initial packet.
	Version uint32
	// Opened counts the Initial packets decrypted.
	Opened int
	keys   *Keys
	// tried are the candidate keys derived for the DCID of an Initial
	// none of them opened, kept for the next Initial of that DCID.
	tried   []*Keys
	largest int64
	crypto  *reassembly.Prefix
}

// scratch holds the copy an Initial is decrypted in, from a pool rather
// than per Client: a connection needs it for a packet or two, and a
// capture holds thousands of connections.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// NewClient returns a Client waiting for the connection's first Initial.
func NewClient() *Client { return &Client{largest: -1} }

// AddDatagram reads the coalesced packets of one client UDP datagram. It
// returns the ClientHello once complete, tls.ErrNeedMore while more packets
// are needed, or another error when the datagram cannot be used.
func (c *Client) AddDatagram(d []byte) (*tls.ClientHello, error) {
	var firstErr error
	for len(d) > 0 && IsLongHeader(d) {
		h, err := ParseHeader(d)
		if err != nil || h.PacketLen == 0 {
			firstErr = errors.Join(firstErr, err)
			break
		}
		if h.Initial {
			if err := c.openInitial(d[:h.PacketLen], h); err != nil {
				firstErr = errors.Join(firstErr, err)
			}
		}
		d = d[h.PacketLen:]
	}
	if c.crypto == nil || c.crypto.Len() == 0 {
		if firstErr == nil {
			firstErr = ErrNotInitial
		}
		return nil, firstErr
	}
	var hello *tls.ClientHello
	var err error
	if crypto := c.crypto.Bytes(); bytes.HasPrefix(crypto, tagCHLO) { // Google QUIC Q050: a CHLO, not TLS
		var name string
		if name, err = ParseCHLO(crypto); err == nil {
			hello = &tls.ClientHello{ServerName: name}
		}
	} else {
		hello, err = tls.ParseClientHello(crypto)
	}
	if err == tls.ErrNeedMore && c.crypto.Full() {
		return nil, errors.New("quic: ClientHello larger than the CRYPTO bound")
	}
	return hello, err
}

// openInitial decrypts one Initial packet; pkt is left unchanged, as
// decryption works on a copy.
func (c *Client) openInitial(pkt []byte, h Header) error {
	buf := scratch.Get().(*[]byte)
	defer scratch.Put(buf)
	payload, pn, err := c.open(pkt, h, buf)
	if err != nil {
		return err
	}
	if c.crypto == nil {
		c.Version = h.Version
		c.crypto = reassembly.NewPrefix(MaxCrypto)
	}
	c.Opened++
	if pn > c.largest {
		c.largest = pn
	}
	return CryptoFrames(c.Version, payload, func(off uint64, data []byte) {
		if off < MaxCrypto {
			c.crypto.Add(int(off), data)
		}
	})
}

// open decrypts an Initial packet with the connection's keys, or, before
// any packet opened, with each candidate in turn, derived as needed. It
// decrypts in a copy of pkt in buf; the payload aliases it.
func (c *Client) open(pkt []byte, h Header, buf *[]byte) ([]byte, int64, error) {
	if c.keys != nil {
		*buf = append((*buf)[:0], pkt...)
		return c.keys.Open(*buf, h, c.largest)
	}
	if len(c.tried) > 0 && (c.tried[0].version != h.Version || !bytes.Equal(c.tried[0].dcid, h.DCID)) {
		c.tried = c.tried[:0]
	}
	var err error
	for i := range candidates(h.Version) {
		if i == len(c.tried) {
			k, err := candidateKeys(h.Version, h.DCID, i)
			if err != nil {
				return nil, 0, err
			}
			c.tried = append(c.tried, k)
		}
		*buf = append((*buf)[:0], pkt...)
		var payload []byte
		var pn int64
		if payload, pn, err = c.tried[i].Open(*buf, h, c.largest); err == nil {
			c.keys, c.tried = c.tried[i], nil
			return payload, pn, nil
		}
	}
	return nil, 0, err
}

// ClientState is a Client in a form encoding/gob can save: the keys are
// kept as the inputs that derive them.
type ClientState struct {
	Version   uint32
	Opened    int
	Largest   int64
	HasKeys   bool
	KeyInputs struct {
		Version   uint32
		DCID      []byte
		Candidate int
	}
	Crypto *reassembly.PrefixState
}

// State copies c's progress out.
func (c *Client) State() *ClientState {
	st := &ClientState{Version: c.Version, Opened: c.Opened, Largest: c.largest}
	if c.keys != nil {
		st.HasKeys = true
		st.KeyInputs.Version, st.KeyInputs.DCID, st.KeyInputs.Candidate = c.keys.version, c.keys.dcid, c.keys.candidate
	}
	if c.crypto != nil {
		st.Crypto = c.crypto.State()
	}
	return st
}

// RestoreClient rebuilds a Client from its State.
func RestoreClient(st *ClientState) (*Client, error) {
	c := &Client{Version: st.Version, Opened: st.Opened, largest: st.Largest}
	if st.HasKeys {
		if n := candidates(st.KeyInputs.Version); st.KeyInputs.Candidate < 0 || st.KeyInputs.Candidate >= n {
			return nil, fmt.Errorf("quic: saved key candidate %d of %d", st.KeyInputs.Candidate, n)
		}
		keys, err := candidateKeys(st.KeyInputs.Version, st.KeyInputs.DCID, st.KeyInputs.Candidate)
		if err != nil {
			return nil, fmt.Errorf("quic: deriving saved keys: %w", err)
		}
		c.keys = keys
	}
	if st.Crypto != nil {
		p, err := reassembly.Restore(st.Crypto)
		if err != nil {
			return nil, err
		}
		c.crypto = p
	}
	return c, nil
}
