-- POST /api/v1/auth/refresh, each request with a refresh token never used before.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local tokens, nthreads, next_index = {}, tonumber(os.getenv("BENCH_WRK_THREADS")), 0

function init(args)
  tokens = read_lines("BENCH_REFRESH_TOKENS")
  next_index = tid + 1
end

function request()
  local token = tokens[next_index]
  next_index = next_index + nthreads
  if token == nil then
    token = "exhausted"
  end
  return wrk.format("POST", "/api/v1/auth/refresh",
    { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end
