package node

import "github.com/vernemq-go/vernemq/pkg/session"

type sessionLimitsT = session.Limits
