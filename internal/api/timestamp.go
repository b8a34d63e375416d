package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is an X-Ray timestamp: epoch seconds as a JSON number (fractions
// allowed). On input an ISO-8601 string is accepted too; output is always a
// number, as the AWS SDKs expect.
type Timestamp struct{ time.Time }

// MarshalJSON writes epoch seconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t.UnixNano())/1e9, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds or an RFC 3339 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				return t.setSeconds(f)
			}
			return fmt.Errorf("timestamp %q: want epoch seconds or RFC 3339", s)
		}
		t.Time = v
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: want epoch seconds or RFC 3339", b)
	}
	return t.setSeconds(f)
}

func (t *Timestamp) setSeconds(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return fmt.Errorf("timestamp %v: out of range", f)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

// seconds converts a float epoch-seconds value (as in segment documents).
func seconds(f float64) Timestamp {
	sec, frac := math.Modf(f)
	return Timestamp{time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()}
}
