package pyworker

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times. It is 100
// on every Linux architecture Hangar builds for (reading sysconf(_SC_CLK_TCK)
// would need cgo).
const clockTicks = 100

// procUsage reads a process's CPU seconds (user + system) and resident set
// size from /proc/<pid>/stat.
func procUsage(pid int) (cpuSeconds float64, rssBytes int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// parseStat parses /proc/<pid>/stat. The command name in parentheses may hold
// spaces and parentheses, so fields are counted after the last ')'.
func parseStat(b []byte) (cpuSeconds float64, rssBytes int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc stat: no command name")
	}
	// Fields after the name start at field 3 (state); utime is 14, stime 15,
	// rss 24.
	f := bytes.Fields(b[i+1:])
	if len(f) < 22 {
		return 0, 0, fmt.Errorf("parse /proc stat: %d fields", len(f))
	}
	utime, err1 := strconv.ParseUint(string(f[14-3]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[15-3]), 10, 64)
	rss, err3 := strconv.ParseInt(string(f[24-3]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, fmt.Errorf("parse /proc stat: bad number")
	}
	return float64(utime+stime) / clockTicks, rss * int64(os.Getpagesize()), nil
}
