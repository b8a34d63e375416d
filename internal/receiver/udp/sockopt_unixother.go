//go:build unix && !linux

package udp

import "errors"

func forceReceiveBuffer(fd, size int) error { return errors.New("not supported") }
