package blob

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func TestSDKContainers(t *testing.T) {
	env := newEnv(t, nil)
	ctx, svc := env.ctx, env.client.ServiceClient()
	for _, name := range []string{"logs-a", "logs-b", "logs-c", "other"} {
		if _, err := env.client.CreateContainer(ctx, name, &container.CreateOptions{Metadata: map[string]*string{"owner": to.Ptr(name)}}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	_, err := env.client.CreateContainer(ctx, "logs-a", nil)
	wantCode(t, err, http.StatusConflict, "ContainerAlreadyExists")
	_, err = env.client.CreateContainer(ctx, "Bad_Name", nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidResourceName")

	c := svc.NewContainerClient("logs-a")
	props, err := c.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.ETag == nil || props.LastModified == nil || *props.Metadata["Owner"] != "logs-a" {
		t.Fatalf("properties = %+v, metadata %v", props, props.Metadata)
	}
	set, err := c.SetMetadata(ctx, &container.SetMetadataOptions{Metadata: map[string]*string{"tier": to.Ptr("gold")}})
	if err != nil {
		t.Fatal(err)
	}
	if *set.ETag == *props.ETag {
		t.Fatalf("ETag %s did not change with the metadata", *set.ETag)
	}
	props = must[container.GetPropertiesResponse](t)(c.GetProperties(ctx, nil))
	if len(props.Metadata) != 1 || *props.Metadata["Tier"] != "gold" {
		t.Fatalf("metadata after set = %v", props.Metadata)
	}

	var names []string
	pages := 0
	pager := svc.NewListContainersPager(&service.ListContainersOptions{Prefix: to.Ptr("logs-"), MaxResults: to.Ptr(int32(2)),
		Include: service.ListContainersInclude{Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.ContainerItems {
			names = append(names, *it.Name)
			if *it.Name == "logs-b" && *it.Metadata["owner"] != "logs-b" {
				t.Fatalf("listed metadata of logs-b = %v", it.Metadata)
			}
		}
	}
	if !slices.Equal(names, []string{"logs-a", "logs-b", "logs-c"}) || pages != 2 {
		t.Fatalf("listed %v in %d pages", names, pages)
	}

	if _, err := c.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Delete(ctx, nil)
	wantCode(t, err, http.StatusNotFound, "ContainerNotFound")
	_, err = c.GetProperties(ctx, nil)
	wantCode(t, err, http.StatusNotFound, "ContainerNotFound")
	_, err = env.client.UploadBuffer(ctx, "logs-a", "x", []byte("x"), nil)
	wantCode(t, err, http.StatusNotFound, "ContainerNotFound")
}

func TestContainerNameRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"abc", true}, {"a-b-c", true}, {"0123", true}, {strings.Repeat("a", 63), true},
		{"ab", false}, {strings.Repeat("a", 64), false}, {"-abc", false}, {"abc-", false},
		{"a--b", false}, {"ABC", false}, {"a_b", false}, {"a.b", false},
	} {
		if err := validContainer(tc.name); (err == nil) != tc.ok {
			t.Errorf("validContainer(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
