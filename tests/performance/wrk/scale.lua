-- The administrator's reads `make bench-scale` compares at two table sizes; BENCH_SCALE_READ
-- picks one: get (a random user by id), first (list page 1), middle (a list page within 5 % of
-- the middle), search (`q=` a random user's number: their email and name, and any that contain
-- it), role (`role=admin`).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local read = os.getenv("BENCH_SCALE_READ")
local users = tonumber(os.getenv("BENCH_USERS"))
local pages = tonumber(os.getenv("BENCH_PAGES"))
local auth = "Bearer " .. os.getenv("BENCH_ADMIN_TOKEN")
local paths = {
  get = function() return "/api/v1/users/" .. math.random(users) end,
  first = function() return "/api/v1/users?page=1" end,
  middle = function()
    local spread = math.max(1, math.floor(pages / 20))
    return "/api/v1/users?page=" .. (math.floor(pages / 2) + math.random(-spread, spread))
  end,
  search = function() return "/api/v1/users?q=" .. math.random(users) end,
  role = function() return "/api/v1/users?role=admin" end,
}
local path = paths[read]

function init(args)
  math.randomseed(os.time() * 16 + tid)
end

function request()
  return wrk.format("GET", path(), { ["Authorization"] = auth })
end
