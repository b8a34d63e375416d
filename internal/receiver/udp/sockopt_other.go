//go:build !unix

package udp

import (
	"log/slog"
	"net"
	"syscall"
)

func reusePort(network, address string, c syscall.RawConn) error { return nil }

func setReceiveBuffer(c net.PacketConn, size int, log *slog.Logger) {
	if uc, ok := c.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(size)
	}
}

const oobSize = 0

func kernelDrops(oob []byte) (uint32, bool) { return 0, false }

// Without SO_REUSEPORT only one socket can bind the port.
const multiSocket = false
