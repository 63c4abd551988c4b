package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

func blockID(i int) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32([]byte("blk-"), uint32(i)))
}

func nopCloser(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }

func azcoreETag(s string) azcore.ETag { return azcore.ETag(s) }

var _ = fmt.Sprint

func sortUnique(s *[]string) {
	slices.Sort(*s)
	*s = slices.Compact(*s)
}
