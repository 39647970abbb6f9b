-- Authenticated GET /api/v1/users/{id}: each signed-in user reads their own record.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local users = {}

function init(args)
  math.randomseed(os.time() * 16 + tid)
  for _, line in ipairs(read_lines("BENCH_USER_TOKENS")) do
    local id, token = line:match("^(%d+) (%S+)$")
    users[#users + 1] = { path = "/api/v1/users/" .. id, auth = "Bearer " .. token }
  end
end

function request()
  local user = users[math.random(#users)]
  return wrk.format("GET", user.path, { ["Authorization"] = user.auth })
end
