# Stage 1 of the benchmark's jq baseline: one small record per line that matters.
# A request becomes [duration_ms, status_code, path, error message], a security event its
# name, a line that is not usable "x" (not a JSON object with string "timestamp" and "event",
# or a request_complete without an integer status and a non-negative duration).
# Timestamps are not checked beyond being strings, which only makes jq's work lighter.
# $security: the security event names, given by run.ts from src/logging/events.ts.
def str_or_null: if type == "string" then . else null end;
inputs
| (try fromjson catch null) as $e
| if ($e | type) != "object" or ($e.timestamp | type) != "string" or ($e.event | type) != "string" then "x"
  elif $e.event == "request_complete" then
    if ($e.status_code | type) != "number" or $e.status_code != ($e.status_code | floor)
       or ($e.duration_ms | type) != "number" or $e.duration_ms < 0 then "x"
    else [$e.duration_ms, $e.status_code, ($e.path | str_or_null),
          ($e.error | if type == "object" then (.message | str_or_null) else null end)]
    end
  elif ($e.event as $name | $security | index($name)) != null then $e.event
  else empty
  end
