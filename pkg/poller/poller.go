// Package poller tells when an idle socket becomes readable without a goroutine
// per socket: connections with nothing to read park here (one map entry each)
// instead of holding a blocked reader goroutine and its stack.
package poller

import "errors"

// ErrUnsupported is returned by New where there is no epoll (non-Linux systems);
// connections then keep their reader goroutine.
var ErrUnsupported = errors.New("poller: parking idle connections needs Linux epoll")
