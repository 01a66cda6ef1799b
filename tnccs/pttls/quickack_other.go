//go:build !linux

package pttls

import "net"

// quickAck: TCP_QUICKACK is Linux's; elsewhere the connection is used as it is.
func quickAck(nc net.Conn) net.Conn { return nc }
