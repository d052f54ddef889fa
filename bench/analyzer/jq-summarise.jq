# Stage 2 of the benchmark's jq baseline: the records of jq-extract.jq, slurped, into the
# analyzer's figures (CONTRACT §8). Run as: jq -s -c --argjson top 10 -f jq-summarise.jq
# $security: the security event names, given by run.ts from src/logging/events.ts.
map(select(type == "array")) as $requests
| ($requests | length) as $n
| ($requests | map(.[0]) | sort) as $sorted
| ($requests | map(select(.[1] >= 400))) as $errors
| def rank(p): if $n == 0 then null else $sorted[((p * $n / 100) | ceil) - 1] end;
{
  total_requests: $n,
  error_requests: ($errors | length),
  error_rate: (if $n == 0 then 0 else ($errors | length) / $n end),
  server_error_rate: (if $n == 0 then 0 else ($errors | map(select(.[1] >= 500)) | length) / $n end),
  latency_ms: {p50: rank(50), p95: rank(95), p99: rank(99), max: (if $n == 0 then null else $sorted[$n - 1] end)},
  top_errors: ($errors | group_by([.[2], .[3]]) | map({path: .[0][2], error: .[0][3], count: length})
               | sort_by([-.count, .path, .error]) | .[:$top]),
  security_events: (map(select(type == "string" and . != "x")) as $names
                    | reduce $security[] as $name ({}; .[$name] = ($names | map(select(. == $name)) | length))),
  skipped_lines: (map(select(. == "x")) | length)
}
