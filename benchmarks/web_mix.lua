-- The URL mix for `wrk` used by benchmarks/bench_web.py: a share of requests on a fixed set of URLs
-- (cached after their first visit) and the rest on URLs never asked before: new filter combinations
-- of the dashboard and the explorer, and project pages.
--   wrk -s web_mix.lua URL -- URLS_FILE NEW_SHARE
-- URLS_FILE has one "kind value" per line: repeat /path, country GB, sector Health, stage Live,
-- project INDIGO-POJ-0001 (values URL-encoded). Each thread seeds its own random numbers.

local lists = {["repeat"] = {}, country = {}, sector = {}, stage = {}, project = {}}
local new_share = 0.3
local counter = 0
local thread_number = 0

setup = function(thread)
  thread_number = thread_number + 1
  thread:set("number", thread_number)
end

init = function(args)
  for line in io.lines(args[1]) do
    local kind, value = line:match("^(%S+) (.+)$")
    if kind and lists[kind] then table.insert(lists[kind], value) end
  end
  new_share = tonumber(args[2]) or new_share
  math.randomseed(1000 * (number or 1) + 7)
end

local function pick(list) return list[math.random(#list)] end

local function filters()
  local parts = {}
  if math.random() < 0.75 then table.insert(parts, "country=" .. pick(lists.country)) end
  if math.random() < 0.2 then table.insert(parts, "country=" .. pick(lists.country)) end
  if math.random() < 0.4 then table.insert(parts, "sector=" .. pick(lists.sector)) end
  if math.random() < 0.2 then table.insert(parts, "stage=" .. pick(lists.stage)) end
  if math.random() < 0.6 then table.insert(parts, "live_from=" .. math.random(2008, 2024)) end
  if math.random() < 0.3 then table.insert(parts, "live_to=" .. math.random(2012, 2026)) end
  if math.random() < 0.3 then
    table.insert(parts, string.format("as_of=%d-%02d-%02d", math.random(2010, 2025), math.random(12), math.random(28)))
  end
  return table.concat(parts, "&")
end

request = function()
  counter = counter + 1
  if math.random() >= new_share then
    return wrk.format("GET", pick(lists["repeat"]))
  end
  local r = math.random()
  if r < 0.5 then
    return wrk.format("GET", "/?" .. filters())
  elseif r < 0.7 then
    local sorts = {"name", "-live", "-users", "-capital", "country"}
    return wrk.format("GET", "/projects?" .. filters() .. "&sort=" .. pick(sorts))
  end
  -- a project page under a URL not asked before (the page cache misses; the route runs again)
  return wrk.format("GET", "/projects/" .. pick(lists.project) .. "?from=" .. number .. "-" .. counter)
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("sibkit %d %d %.3f %.3f %.3f %d %d\n", summary.requests, summary.duration,
                         latency:percentile(50) / 1000, latency:percentile(95) / 1000,
                         latency:percentile(99) / 1000, errors.status,
                         errors.connect + errors.read + errors.write + errors.timeout))
end
