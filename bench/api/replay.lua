-- wrk script: replays one pre-signed request read from the file named by the
-- first script argument (wrk ... -s replay.lua URL -- REQFILE), and prints a
-- machine-readable summary line ("BENCH {json}") when the run is done.
--
-- REQFILE format: line 1 method, line 2 path, then "Name: value" header lines,
-- an empty line, then the body (verbatim, to end of file).

local req

local function load(path)
   local f = assert(io.open(path, "rb"))
   local data = f:read("*a")
   f:close()
   local head, body = data:match("^(.-)\n\n(.*)$")
   assert(head, "bad request file " .. path)
   local lines = {}
   for l in head:gmatch("[^\n]+") do lines[#lines + 1] = l end
   local method, reqpath = lines[1], lines[2]
   local headers = {}
   for i = 3, #lines do
      local k, v = lines[i]:match("^([^:]+):%s*(.*)$")
      assert(k, "bad header line " .. lines[i])
      headers[k] = v
   end
   return wrk.format(method, reqpath, headers, body)
end

function init(args)
   req = load(args[1])
end

function request()
   return req
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
      '"err_connect": %d, "err_read": %d, "err_write": %d, "err_status": %d, "err_timeout": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
