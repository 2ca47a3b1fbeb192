"""Drives the time-series methods of ntop's Python API (the ntopng
package, unchanged) against a probe.

Usage: ntopng_ts_client.py URL BEGIN END HOST basic USER PASSWORD
       ntopng_ts_client.py URL BEGIN END HOST token TOKEN
(BEGIN, END: the epoch range; HOST: a local host of the capture)
Prints one JSON object: for each call, {"rsp": ...} or {"error": "..."}.
A pandas DataFrame is printed as {"columns", "rows", "step", "amounts"}:
amounts are each column's values times the step (bytes for counters).
The Go test (pyclient_ts_test.go) checks them against the capture.
"""
import contextlib
import io
import json
import sys

import pandas as pd

from ntopng.ntopng import Ntopng

url, begin, end, hostip, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if mode == "token":
    n = Ntopng(auth_token=sys.argv[6], url=url)
else:
    n = Ntopng(username=sys.argv[6], password=sys.argv[7], url=url)

hist = n.get_historical_interface(0)
# get_host_top_protocols and self_test build "ifid:" + ifid: they need the
# interface id as a string.
hist_s = n.get_historical_interface("0")


def self_test():
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            hist_s.self_test(hostip)
    except Exception as e:  # self_test hides the cause: say where it stopped
        cause = e.__context__ or e
        lines = buf.getvalue().splitlines()
        raise RuntimeError("after %r: %s: %s" % (lines[-4:], type(cause).__name__, cause))
    return {"lines": len(buf.getvalue().splitlines())}


def frame(df):
    if not isinstance(df, pd.DataFrame):
        raise TypeError("not a DataFrame: %r" % (df,))
    if len(df.index) == 0:
        return {"columns": [], "rows": 0, "step": 0, "amounts": {}}
    step = float(df.index[0].length)
    return {"columns": list(df.columns), "rows": len(df.index), "step": step,
            "amounts": {c: float(df[c].sum()) * step for c in df.columns}}


calls = {
    "historical.get_timeseries": lambda: frame(hist.get_timeseries("host:traffic", "ifid:0,host:" + hostip, begin, end)),
    "historical.get_interface_timeseries": lambda: frame(hist.get_interface_timeseries("iface:traffic", begin, end)),
    "historical.get_host_timeseries": lambda: frame(hist.get_host_timeseries(hostip, "host:traffic", begin, end)),
    "historical.get_timeseries_stats": lambda: hist.get_timeseries_stats("host:traffic", "ifid:0,host:" + hostip, begin, end),
    "historical.get_interface_timeseries_stats": lambda: hist.get_interface_timeseries_stats("iface:traffic", begin, end),
    "historical.get_host_timeseries_stats": lambda: hist.get_host_timeseries_stats(hostip, "host:traffic", begin, end),
    "historical.get_timeseries_metadata": lambda: hist.get_timeseries_metadata(),
    "historical.get_host_top_protocols": lambda: hist_s.get_host_top_protocols(hostip, begin, end),
    "historical.self_test": self_test,
}
out = {}
for name, call in calls.items():
    try:
        out[name] = {"rsp": call()}
    except Exception as e:  # one failing call must not hide the others
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
