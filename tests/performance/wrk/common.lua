-- Shared by the wrk scripts: thread numbering and reading the files bench.py writes.
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function read_lines(name)
  local lines = {}
  for line in io.lines(os.getenv(name)) do
    lines[#lines + 1] = line
  end
  return lines
end
