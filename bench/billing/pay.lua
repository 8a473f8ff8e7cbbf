-- POST /api/v1/invoices/{id}/payments of 0.01 on random sent invoices of the bench org (each has a
-- balance above 1,000.00, so a run never exhausts one).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("BENCH_TOKEN")
request = function()
    return wrk.format("POST", "/api/v1/invoices/" .. ids[math.random(#ids)] .. "/payments",
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, '{"amount":0.01}')
end
