package quic

import "testing"

func FuzzClientAddDatagram(f *testing.F) {
	dcid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	keys, _ := ClientInitialKeys(Version1, dcid)
	header := append([]byte{0xc0, 0, 0, 0, 1, 8}, dcid...)
	header = append(header, 0, 0, 0x44, 0xc6) // no SCID, no token, length 1222
	payload := append([]byte{6, 0, 10, 1, 0, 0, 6, 3, 3}, make([]byte, 1200)...)
	f.Add(keys[0].Seal(header, 0, 2, payload))
	f.Add([]byte{0xc0, 0x0a, 0x0a, 0x0a, 0x0a, 0, 0, 0, 0x40, 0x20})
	f.Add(append(append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8}, "Q043"...), chlo([2]string{"SNI\x00", "a.example"})...))
	f.Fuzz(func(t *testing.T, d []byte) {
		c := NewClient()
		c.AddDatagram(d)
		c.AddDatagram(d)
		CryptoFrames(Version1, d, func(uint64, []byte) {})
		CryptoFrames(VersionGoogleQ050, d, func(uint64, []byte) {})
		GoogleCHLO(d)
		ParseCHLO(d)
	})
}
