-- wrk script for bench/imds: every connection waits GAP_MS before each
-- request, so -c5 with GAP_MS=4 offers a little over 1000 requests/s: the latency
-- at the rate one instance must sustain, not at saturation. The latency wrk
-- reports starts when the request is sent, after the wait.
local gap = tonumber(os.getenv("GAP_MS") or "4")

function delay()
	return gap
end
