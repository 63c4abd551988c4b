//go:build tools

package broker

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	_ "github.com/gorilla/websocket"
	_ "github.com/miekg/dns"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/net/http2/h2c"
	_ "gopkg.in/yaml.v3"
)
