module github.com/vernemq-go/vernemq

go 1.26.8

require (
	github.com/coder/websocket v1.8.15
	github.com/pires/go-proxyproto v0.15.0
	github.com/spf13/cobra v1.10.2
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
