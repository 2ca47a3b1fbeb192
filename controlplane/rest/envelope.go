package rest

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/valyala/fasthttp"
)

// RC is one of ntopng's REST answer codes (rest_utils.lua consts).
type RC struct {
	Code int
	Str  string
	HR   string // rc_str_hr; "Unknown" where ntopng's locale has no string
	HTTP int
}

// The answer codes, with ntopng's HTTP statuses and human strings.
var (
	RCOK               = RC{0, "OK", "Success", 200}
	RCNotFound         = RC{-1, "NOT_FOUND", "Not found", 404}
	RCInvalidInterface = RC{-2, "INVALID_INTERFACE", "Invalid interface", 400}
	RCNotEnabled       = RC{-2, "NOT_ENABLED", "Unknown", 400}
	RCNotGranted       = RC{-3, "NOT_GRANTED", "Not authorized", 401}
	RCInvalidHost      = RC{-4, "INVALID_HOST", "Invalid host", 400}
	RCInvalidArguments = RC{-5, "INVALID_ARGUMENTS", "Invalid arguments", 400}
	RCInternalError    = RC{-6, "INTERNAL_ERROR", "Internal error", 500}
	RCBadFormat        = RC{-7, "BAD_FORMAT", "Bad format", 400}
	RCBadContent       = RC{-8, "BAD_CONTENT", "Bad content", 400}
	RCPasswordMismatch = RC{-19, "PASSWORD_MISMATCH", "Unknown", 400}
	RCUserDoesNotExist = RC{-24, "USER_DOES_NOT_EXIST", "Unknown", 409}
)

// envelope is ntopng's answer: {rc, rc_str, rc_str_hr, rsp}.
type envelope struct {
	RC    int    `json:"rc"`
	RCStr string `json:"rc_str"`
	RCHR  string `json:"rc_str_hr"`
	Rsp   any    `json:"rsp"`
}

// emptyRsp is how ntopng (Lua + dkjson) encodes an empty table: as [].
var emptyRsp = json.RawMessage("[]")

// extended is rest_utils.extended_answer: the envelope with extra
// top-level keys (recordsTotal, recordsFiltered of the alert lists).
type extended struct {
	rsp   any
	extra map[string]any
}

func writeAnswer(ctx *fasthttp.RequestCtx, rc RC, rsp any) {
	if rsp == nil {
		rsp = emptyRsp
	}
	var body []byte
	var err error
	if x, ok := rsp.(extended); ok {
		m := map[string]any{"rc": rc.Code, "rc_str": rc.Str, "rc_str_hr": rc.HR, "rsp": x.rsp}
		for k, v := range x.extra {
			m[k] = v
		}
		body, err = marshalRaw(m)
	} else {
		body, err = marshalRaw(envelope{rc.Code, rc.Str, rc.HR, rsp})
	}
	if err != nil {
		rc = RCInternalError
		body, _ = json.Marshal(envelope{rc.Code, rc.Str, rc.HR, map[string]string{"error": err.Error()}})
	}
	ctx.SetStatusCode(rc.HTTP)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// marshalRaw is json.Marshal without Go's HTML escaping: ntopng's answers
// carry HTML fragments (alert descriptions) as they are.
func marshalRaw(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Num is a number printed the way ntopng's Lua/dkjson prints it: integral
// values without a fraction, others with 14 significant digits, NaN and
// infinities as null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return []byte("null"), nil
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.AppendInt(nil, int64(f), 10), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 14, 64), nil
}

// obj is a JSON object that encodes as [] when empty, like a Lua table.
type obj map[string]any

// MarshalJSON implements json.Marshaler.
func (o obj) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return emptyRsp, nil
	}
	return json.Marshal(map[string]any(o))
}
