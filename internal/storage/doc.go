// Package storage is the Azure Storage REST plumbing that Tandem's Table,
// Queue and Blob services share: Shared Key and Shared Key Lite request
// signing as each service defines it, shared access signatures (account
// SAS and service SAS, parsed and verified for every signed version the
// official SDKs produce), the request date and clock-skew check, the
// common response headers (x-ms-request-id, x-ms-version, Date) and the
// Storage error bodies (XML for Blob and Queue, OData JSON for Table).
//
// It exists so that internal/table, the queue REST service and the blob
// service authenticate and answer errors exactly alike, from one tested
// implementation, rather than three copies that drift apart. It knows
// nothing about where data lives: a service gives it a way to look up an
// account's key (KeyFunc) and says, per request, which resource and
// permission the request needs (Need); Verify and Grant.Allow do the rest.
package storage
