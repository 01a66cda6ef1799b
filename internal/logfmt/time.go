package logfmt

import "time"

func nowStamp() string { return time.Now().Format("15:04:05.000") }
