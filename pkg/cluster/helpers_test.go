package cluster

import "github.com/vernemq-go/vernemq/pkg/broker"

func sid(mp, id string) broker.SessionID { return broker.SessionID{Mountpoint: mp, ClientID: id} }
