package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/transfer-go/transfer/head"
)

// DataFingerprint names a data set by content: the SHA-256 of its rows'
// sorted content keys and class names, then the validation set's likewise.
// It does not change when files are renamed or listed in another order, and
// changes when an image or a label does.
func DataFingerprint(classes []string, train head.Data, val *head.Data) string {
	h := sha256.New()
	for _, d := range []*head.Data{&train, val} {
		if d == nil {
			continue
		}
		rows := make([]string, d.Len())
		for i, y := range d.Y {
			key := ""
			if d.Keys != nil {
				key = d.Keys[i]
			}
			rows[i] = fmt.Sprintf("%s\t%s\n", key, classes[y])
		}
		slices.Sort(rows)
		for _, r := range rows {
			h.Write([]byte(r))
		}
		h.Write([]byte("--\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
