//go:build linux

package udp

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

func forceReceiveBuffer(fd, size int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
}

// oobSize fits one SO_RXQ_OVFL control message.
var oobSize = unix.CmsgSpace(4)

func enableDropCount(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
}

// kernelDrops reads the socket's cumulative count of datagrams the kernel
// dropped for lack of buffer space, which SO_RXQ_OVFL attaches to reads.
func kernelDrops(oob []byte) (uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
