-- mixed.lua: the mixed workload. Each wrk thread sends, in turn, a request
-- that computes (/compute), one that waits (/wait) and one that does both
-- (/both), so a server always has all three kinds in flight. Use alone
-- (wrk -s bench/wrk/mixed.lua URL) or, as benchrun does, followed by
-- report.lua.
local paths = {"/compute", "/wait", "/both"}
local n = 0

request = function()
   n = n % #paths + 1
   return wrk.format("GET", paths[n])
end
