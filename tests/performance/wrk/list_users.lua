-- Administrator GET /api/v1/users?page=N over every page of the seeded users.
local pages = tonumber(os.getenv("BENCH_PAGES"))
local auth = "Bearer " .. os.getenv("BENCH_ADMIN_TOKEN")

function request()
  local path = "/api/v1/users?page=" .. math.random(pages)
  return wrk.format("GET", path, { ["Authorization"] = auth })
end
