package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// this runs on (Go cannot ask sysconf without cgo).
const clockTicks = 100

// cpuSample is the machine's and some processes' CPU time at one moment.
type cpuSample struct {
	at   time.Time
	busy float64 // CPU-seconds of every process, from /proc/stat
	pids map[string]float64
}

// sampleCPU reads /proc/stat and /proc/<pid>/stat of each named process.
func sampleCPU(pids map[string]int) (cpuSample, error) {
	s := cpuSample{at: time.Now(), pids: map[string]float64{}}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return s, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return s, err
		}
		s.busy += v / clockTicks
	}
	for name, pid := range pids {
		t, err := processCPU(pid)
		if errors.Is(err, fs.ErrNotExist) {
			continue // it has exited: it takes no CPU now
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		s.pids[name] = t
	}
	return s, nil
}

// processCPU is a process's user+system CPU-seconds, all its threads.
func processCPU(pid int) (float64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing one. utime and stime are fields 14 and 15.
	rest := string(data)
	rest = rest[strings.LastIndexByte(rest, ')')+1:]
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return (utime + stime) / clockTicks, nil
}

// CPUUse is where CPU went during a run, in cores (CPU-seconds per second
// of the run): by each of the bench's processes, and by every other process
// on the machine (a neighbour's build or tests share the cores).
type CPUUse struct {
	Wall    time.Duration
	ByProc  map[string]float64
	Others  float64
	Machine float64
}

func cpuBetween(a, b cpuSample) CPUUse {
	wall := b.at.Sub(a.at)
	u := CPUUse{Wall: wall, ByProc: map[string]float64{}}
	secs := wall.Seconds()
	ours := 0.0
	for name, t := range b.pids {
		d := t - a.pids[name]
		u.ByProc[name] = d / secs
		ours += d
	}
	u.Machine = (b.busy - a.busy) / secs
	u.Others = max(0, (b.busy-a.busy)-ours) / secs
	return u
}

// PerRequest is a process's CPU time per request over the run.
func (u CPUUse) PerRequest(proc string, requests int) time.Duration {
	if requests == 0 {
		return 0
	}
	return time.Duration(u.ByProc[proc] * u.Wall.Seconds() / float64(requests) * float64(time.Second))
}

// Merge is where CPU went over two runs together.
func (u CPUUse) Merge(o CPUUse) CPUUse {
	wall := u.Wall + o.Wall
	if wall == 0 {
		return u
	}
	weigh := func(a, b float64) float64 {
		return (a*u.Wall.Seconds() + b*o.Wall.Seconds()) / wall.Seconds()
	}
	m := CPUUse{Wall: wall, ByProc: map[string]float64{}, Others: weigh(u.Others, o.Others), Machine: weigh(u.Machine, o.Machine)}
	for k := range u.ByProc {
		m.ByProc[k] = weigh(u.ByProc[k], o.ByProc[k])
	}
	for k := range o.ByProc {
		m.ByProc[k] = weigh(u.ByProc[k], o.ByProc[k])
	}
	return m
}
