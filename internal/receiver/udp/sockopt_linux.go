//go:build linux

package udp

import "golang.org/x/sys/unix"

func forceReceiveBuffer(fd, size int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
}
