//go:build unix

package udp

import (
	"log/slog"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets several sockets bind one port; the kernel spreads datagrams
// across them, so each core reads its own socket.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// setReceiveBuffer asks for a large kernel buffer. SO_RCVBUFFORCE (Linux, as
// root) may exceed net.core.rmem_max; otherwise the kernel caps the request.
func setReceiveBuffer(c net.PacketConn, size int, log *slog.Logger) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		if err := enableDropCount(int(fd)); err != nil {
			log.Debug("kernel drop counting unavailable", "err", err)
		}
		if forceReceiveBuffer(int(fd), size) == nil {
			return
		}
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
			log.Warn("cannot set udp receive buffer", "bytes", size, "err", err)
		}
	})
}

// SO_REUSEPORT lets each reader have its own socket.
const multiSocket = true
