package storage

import (
	"encoding/xml"
	"net/http"
	"time"
)

// Service properties (Get/Set Service Properties) and statistics (Get
// Service Stats), the XML documents of the Blob, Queue and Table
// services. Tandem stores what a client sets and returns it; it does not
// act on logging, metrics or CORS rules of this document.

// ServiceProperties is <StorageServiceProperties>. A Set replaces only
// the elements it carries (Merge).
type ServiceProperties struct {
	XMLName       xml.Name  `xml:"StorageServiceProperties"`
	Logging       *Logging  `xml:"Logging,omitempty"`
	HourMetrics   *Metrics  `xml:"HourMetrics,omitempty"`
	MinuteMetrics *Metrics  `xml:"MinuteMetrics,omitempty"`
	Cors          *CorsList `xml:"Cors,omitempty"`
	// Blob only.
	DefaultServiceVersion string           `xml:"DefaultServiceVersion,omitempty"`
	DeleteRetentionPolicy *RetentionPolicy `xml:"DeleteRetentionPolicy,omitempty"`
	StaticWebsite         *StaticWebsite   `xml:"StaticWebsite,omitempty"`
}

// Logging is the Storage Analytics logging settings.
type Logging struct {
	Version         string          `xml:"Version"`
	Delete          bool            `xml:"Delete"`
	Read            bool            `xml:"Read"`
	Write           bool            `xml:"Write"`
	RetentionPolicy RetentionPolicy `xml:"RetentionPolicy"`
}

// Metrics is the hour or minute metrics settings.
type Metrics struct {
	Version         string          `xml:"Version"`
	Enabled         bool            `xml:"Enabled"`
	IncludeAPIs     *bool           `xml:"IncludeAPIs,omitempty"`
	RetentionPolicy RetentionPolicy `xml:"RetentionPolicy"`
}

// RetentionPolicy says whether and how long data is kept.
type RetentionPolicy struct {
	Enabled bool   `xml:"Enabled"`
	Days    *int32 `xml:"Days,omitempty"`
}

// CorsList is <Cors>, possibly empty.
type CorsList struct {
	Rules []CorsRule `xml:"CorsRule"`
}

// CorsRule is one CORS rule.
type CorsRule struct {
	AllowedOrigins  string `xml:"AllowedOrigins"`
	AllowedMethods  string `xml:"AllowedMethods"`
	AllowedHeaders  string `xml:"AllowedHeaders"`
	ExposedHeaders  string `xml:"ExposedHeaders"`
	MaxAgeInSeconds int32  `xml:"MaxAgeInSeconds"`
}

// StaticWebsite is the Blob service's static website settings.
type StaticWebsite struct {
	Enabled              bool   `xml:"Enabled"`
	IndexDocument        string `xml:"IndexDocument,omitempty"`
	ErrorDocument404Path string `xml:"ErrorDocument404Path,omitempty"`
}

// maxCorsRules is Azure's limit of CORS rules per service.
const maxCorsRules = 5

// DefaultServiceProperties is what a service answers before anything
// was set: analytics off, no CORS rules.
func DefaultServiceProperties() ServiceProperties {
	off := RetentionPolicy{}
	return ServiceProperties{
		Logging:       &Logging{Version: "1.0", RetentionPolicy: off},
		HourMetrics:   &Metrics{Version: "1.0", RetentionPolicy: off},
		MinuteMetrics: &Metrics{Version: "1.0", RetentionPolicy: off},
		Cors:          &CorsList{},
	}
}

// ParseServiceProperties reads a Set Service Properties body.
func ParseServiceProperties(data []byte) (ServiceProperties, error) {
	var p ServiceProperties
	if err := xml.Unmarshal(data, &p); err != nil {
		return p, Invalid("InvalidXmlDocument", "the service properties are not a StorageServiceProperties XML document: %v", err)
	}
	if p.Cors != nil && len(p.Cors.Rules) > maxCorsRules {
		return p, Invalid("InvalidXmlNodeValue", "Cors has %d rules; at most %d are allowed", len(p.Cors.Rules), maxCorsRules)
	}
	for _, rp := range []*RetentionPolicy{retention(p.Logging), metricsRetention(p.HourMetrics), metricsRetention(p.MinuteMetrics), p.DeleteRetentionPolicy} {
		if rp != nil && rp.Days != nil && (*rp.Days < 1 || *rp.Days > 365) {
			return p, Invalid("InvalidXmlNodeValue", "RetentionPolicy Days must be 1 to 365, got %d", *rp.Days)
		}
	}
	return p, nil
}

func retention(l *Logging) *RetentionPolicy {
	if l == nil {
		return nil
	}
	return &l.RetentionPolicy
}

func metricsRetention(m *Metrics) *RetentionPolicy {
	if m == nil {
		return nil
	}
	return &m.RetentionPolicy
}

// Merge returns p with every element that set carries replaced.
func (p ServiceProperties) Merge(set ServiceProperties) ServiceProperties {
	if set.Logging != nil {
		p.Logging = set.Logging
	}
	if set.HourMetrics != nil {
		p.HourMetrics = set.HourMetrics
	}
	if set.MinuteMetrics != nil {
		p.MinuteMetrics = set.MinuteMetrics
	}
	if set.Cors != nil {
		p.Cors = set.Cors
	}
	if set.DefaultServiceVersion != "" {
		p.DefaultServiceVersion = set.DefaultServiceVersion
	}
	if set.DeleteRetentionPolicy != nil {
		p.DeleteRetentionPolicy = set.DeleteRetentionPolicy
	}
	if set.StaticWebsite != nil {
		p.StaticWebsite = set.StaticWebsite
	}
	return p
}

// ServiceStats is <StorageServiceStats>: the geo-replication state.
type ServiceStats struct {
	XMLName        xml.Name       `xml:"StorageServiceStats"`
	GeoReplication GeoReplication `xml:"GeoReplication"`
}

// GeoReplication states: live, bootstrap or unavailable.
type GeoReplication struct {
	Status string `xml:"Status"`
	// LastSyncTime is an RFC 1123 date; every write before it is in the
	// secondary. Empty when unknown.
	LastSyncTime string `xml:"LastSyncTime,omitempty"`
}

// NewServiceStats states geo-replication; a zero lastSync leaves the time
// out.
func NewServiceStats(status string, lastSync time.Time) ServiceStats {
	s := ServiceStats{GeoReplication: GeoReplication{Status: status}}
	if !lastSync.IsZero() {
		s.GeoReplication.LastSyncTime = lastSync.UTC().Format(http.TimeFormat)
	}
	return s
}

// WriteXML writes v as an XML document with status.
func WriteXML(w http.ResponseWriter, status int, v any) {
	data, err := MarshalXML(v)
	if err != nil {
		WriteXMLError(w, &http.Request{Method: http.MethodGet}, AsError(err), time.Now())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(data)
}
