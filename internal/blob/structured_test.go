package blob

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// TestSDKStructuredCRC64: uploads (single put and staged blocks) and a
// download with the SDK's structured-message CRC64 validation.
func TestSDKStructuredCRC64(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "crc")
	data := randBytes(9<<20 + 5) // three segments
	sm := blob.TransferValidationTypeComputeStructuredMessageCRC64(0)
	if _, err := env.client.UploadBuffer(ctx, "crc", "one", data, &azblob.UploadBufferOptions{TransactionalValidation: sm}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.UploadStream(ctx, "crc", "blocks", bytes.NewReader(data),
		&azblob.UploadStreamOptions{BlockSize: 2 << 20, TransactionalValidation: blob.TransferValidationTypeComputeStructuredMessageCRC64(1 << 20)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "blocks"} {
		resp, err := env.client.DownloadStream(ctx, "crc", name, &azblob.DownloadStreamOptions{TransactionalValidation: sm,
			Range: blob.HTTPRange{Offset: 100, Count: 5 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, data[100:100+5<<20]) {
			t.Fatalf("%s: %d bytes, err %v", name, len(got), err)
		}
	}
	bb := env.client.ServiceClient().NewContainerClient("crc").NewBlockBlobClient("x")
	_, err := bb.StageBlock(ctx, blockID(1), nopCloser(data[:10]), &blockblob.StageBlockOptions{TransactionalValidation: sm})
	if err != nil {
		t.Fatal(err)
	}
}

func encodeSM(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := newSMWriter(&buf, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != smLength(int64(len(data))) {
		t.Fatalf("encoded %d bytes, smLength says %d", buf.Len(), smLength(int64(len(data))))
	}
	return buf.Bytes()
}

func decodeSM(enc []byte, n int64) ([]byte, error) {
	r, _ := http.NewRequest("PUT", "/", bytes.NewReader(enc))
	r.Header.Set("x-ms-structured-body", smHeaderValue)
	r.Header.Set("x-ms-structured-content-length", strconv.FormatInt(n, 10))
	body, ok, err := structuredBody(r)
	if err != nil || !ok {
		return nil, err
	}
	return io.ReadAll(body)
}

func TestStructuredRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, smSegmentBytes, smSegmentBytes + 1} {
		data := randBytes(n)
		enc := encodeSM(t, data)
		got, err := decodeSM(enc, int64(n))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if n == 0 {
			continue
		}
		bad := bytes.Clone(enc)
		bad[smHeaderSize+smSegHeader] ^= 1 // flip a data bit
		_, err = decodeSM(bad, int64(n))
		var e *Error
		if !errors.As(err, &e) || e.Code != "Crc64Mismatch" {
			t.Fatalf("%d bytes, corrupted: %v, want Crc64Mismatch", n, err)
		}
		if _, err := decodeSM(enc, int64(n)+1); err == nil {
			t.Fatalf("%d bytes with a wrong announced length accepted", n)
		}
	}
}

func FuzzStructuredBody(f *testing.F) {
	f.Add(encodeSM(f, []byte("hello")), int64(5))
	f.Add([]byte{1, 0, 0}, int64(0))
	f.Fuzz(func(t *testing.T, enc []byte, n int64) {
		if n < 0 || n > 1<<20 {
			return
		}
		got, err := decodeSM(enc, n)
		if err != nil {
			if asError(err).Status != 400 {
				t.Fatalf("%v is not a 400", err)
			}
			return
		}
		if int64(len(got)) != n {
			t.Fatalf("decoded %d bytes, announced %d", len(got), n)
		}
	})
}
