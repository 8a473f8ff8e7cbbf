-- POST /api/v1/invoices: a two-line draft for the bench org's first client.
local token = os.getenv("BENCH_TOKEN")
local body = '{"client_id":"' .. os.getenv("BENCH_CLIENT") .. '","issue_date":"2026-11-01","items":[' ..
    '{"description":"Design","quantity":2,"unit_price":120.50,"tax_rate":8.25},' ..
    '{"description":"Hosting","quantity":1.5,"unit_price":9.99,"discount_percent":10}]}'
request = function()
    return wrk.format("POST", "/api/v1/invoices",
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
