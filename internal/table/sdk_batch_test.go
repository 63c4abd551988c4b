package table

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func action(t *testing.T, kind aztables.TransactionType, e map[string]any, ifMatch string) aztables.TransactionAction {
	a := aztables.TransactionAction{ActionType: kind, Entity: marshal(t, e)}
	if ifMatch != "" {
		a.IfMatch = to.Ptr(azcore.ETag(ifMatch))
	}
	return a
}

func ent(rk string, props ...any) map[string]any {
	m := map[string]any{"PartitionKey": "p", "RowKey": rk}
	for i := 0; i+1 < len(props); i += 2 {
		m[props[i].(string)] = props[i+1]
	}
	return m
}

func TestSDKSubmitTransaction(t *testing.T) {
	env, svc, _ := sdkEnv(t)
	ctx := env.ctx
	if _, err := svc.CreateTable(ctx, "Orders", nil); err != nil {
		t.Fatal(err)
	}
	client := svc.NewClient("Orders")
	added, err := client.AddEntity(ctx, marshal(t, ent("upd", "N", 1, "Keep", "k")), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rk := range []string{"del", "rep"} {
		if _, err := client.AddEntity(ctx, marshal(t, ent(rk, "N", 1)), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.SubmitTransaction(ctx, []aztables.TransactionAction{
		action(t, aztables.TransactionTypeAdd, ent("new", "N", 1), ""),
		action(t, aztables.TransactionTypeUpdateMerge, ent("upd", "N", 2), string(added.ETag)),
		action(t, aztables.TransactionTypeUpdateReplace, ent("rep", "M", 3), "*"),
		action(t, aztables.TransactionTypeInsertMerge, ent("im", "N", 4), ""),
		action(t, aztables.TransactionTypeInsertReplace, ent("ir", "N", 5), ""),
		action(t, aztables.TransactionTypeDelete, ent("del"), ""),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := getProps(t, client, "p", "upd"); p["N"] != float64(2) || p["Keep"] != "k" {
		t.Fatalf("merged entity: %v", p)
	}
	if p := getProps(t, client, "p", "rep"); p["M"] != float64(3) || p["N"] != nil {
		t.Fatalf("replaced entity: %v", p)
	}
	for _, rk := range []string{"new", "im", "ir"} {
		getProps(t, client, "p", rk)
	}
	_, err = client.GetEntity(ctx, "p", "del", nil)
	wantCode(t, err, http.StatusNotFound, "ResourceNotFound")

	// A failing operation (an insert of an existing entity) rolls back
	// the whole transaction.
	_, err = client.SubmitTransaction(ctx, []aztables.TransactionAction{
		action(t, aztables.TransactionTypeInsertReplace, ent("upd", "N", 99), ""),
		action(t, aztables.TransactionTypeDelete, ent("rep"), ""),
		action(t, aztables.TransactionTypeAdd, ent("new"), ""),
	}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusAccepted {
		t.Fatalf("err = %v, want a ResponseError for the batch", err)
	}
	if p := getProps(t, client, "p", "upd"); p["N"] != float64(2) {
		t.Fatalf("operation 0 of a failed transaction was applied: %v", p)
	}
	getProps(t, client, "p", "rep") // operation 1 was not applied either
}

// TestBatchFailureBody checks the failed transaction's body as Azure
// writes it: the failed operation's status and its index in the message.
func TestBatchFailureBody(t *testing.T) {
	env, svc, base := sdkEnv(t)
	if _, err := svc.CreateTable(env.ctx, "Orders", nil); err != nil {
		t.Fatal(err)
	}
	client := svc.NewClient("Orders")
	if _, err := client.AddEntity(env.ctx, marshal(t, ent("a")), nil); err != nil {
		t.Fatal(err)
	}
	body := "--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n" +
		batchOp("POST", base+"/tables/shop/Orders", `{"PartitionKey":"p","RowKey":"b"}`) +
		batchOp("POST", base+"/tables/shop/Orders", `{"PartitionKey":"p","RowKey":"a"}`) +
		"--changeset_1--\r\n--batch_1--\r\n"
	acct, _ := env.svc.EnsureAccount(env.ctx, "shop")
	key, _ := base64.StdEncoding.DecodeString(acct.Key)
	r := signedRequest{method: "POST", path: "/tables/shop/$batch", body: body, scheme: "SharedKeyLite", account: "shop", key: key, date: time.Now()}
	resp, got := r.doWith(t, base, map[string]string{"Content-Type": "multipart/mixed; boundary=batch_1"})
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(got, "HTTP/1.1 409 Conflict") ||
		!strings.Contains(got, `"code":"EntityAlreadyExists"`) || !strings.Contains(got, `"value":"1:`) {
		t.Fatalf("status %d body:\n%s", resp.StatusCode, got)
	}
	if _, err := client.GetEntity(env.ctx, "p", "b", nil); err == nil {
		t.Fatal("operation 0 of the failed batch was applied")
	}
}

func batchOp(method, url, body string) string {
	return "--changeset_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		method + " " + url + " HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json;odata=minimalmetadata\r\n\r\n" +
		body + "\r\n"
}
