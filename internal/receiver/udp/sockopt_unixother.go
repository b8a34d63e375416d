//go:build unix && !linux

package udp

import "errors"

func forceReceiveBuffer(fd, size int) error { return errors.New("not supported") }

const oobSize = 0

func enableDropCount(fd int) error { return errors.New("not supported") }

func kernelDrops(oob []byte) (uint32, bool) { return 0, false }
