-- GET /health: the framework and server alone.
function request()
  return wrk.format("GET", "/health")
end
