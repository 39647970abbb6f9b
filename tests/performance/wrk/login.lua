-- POST /api/v1/auth/login as a random seeded user with the right password.
local users = tonumber(os.getenv("BENCH_USERS"))
local password = os.getenv("BENCH_PASSWORD")

function request()
  local body = string.format('{"email":"user%d@bench.example.com","password":"%s"}',
    math.random(users), password)
  return wrk.format("POST", "/api/v1/auth/login",
    { ["Content-Type"] = "application/json" }, body)
end
