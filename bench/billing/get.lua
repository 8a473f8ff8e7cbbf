-- GET /api/v1/invoices/{id} for random invoices of the bench org (ids from ids.txt).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("BENCH_TOKEN")
request = function()
    return wrk.format("GET", "/api/v1/invoices/" .. ids[math.random(#ids)], {["Authorization"] = "Bearer " .. token})
end
