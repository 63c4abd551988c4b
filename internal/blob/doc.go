// Package blob is Tandem's Azure Blob storage for block blobs: containers
// and blobs of each app's storage account kept in JetStream object store
// buckets, and a REST endpoint (path-style, as Azurite:
// /blobs/<account>/<container>/<blob>) that the official Azure SDKs talk to.
//
// Storage layout (DESIGN.md has the whole story): one object store bucket
// per app and container, "<region>_B_<app>_<container>", in the region's
// JetStream domain. Inside it, objects named
//
//	c                     the container record (properties, metadata)
//	b/<blob name>         a blob record: properties, metadata and the list
//	                      of data objects (parts) holding its bytes
//	u/<blob>\x00<blockid> an uncommitted block: its parts
//	d/<nuid>              immutable data, at most PartSize bytes each
//
// Records are zero-length objects whose JSON lives in the object's
// metadata, so a listing reads only meta messages. Data objects are never
// rewritten: a put writes new ones and the record switches to them, so a
// failed or refused upload (Content-MD5 mismatch, too large) leaves the
// previous blob intact.
//
// In a secondary region the buckets are mirrors of the primary's: the
// service reads them under the region's own subjects and refuses writes.
package blob
