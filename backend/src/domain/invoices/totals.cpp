#include "domain/invoices/totals.hpp"

namespace flashbill::domain::invoices {

namespace {

bool add_within_range(std::int64_t& acc, std::int64_t v) {
    Int128 sum = static_cast<Int128>(acc) + v;
    if (sum > kMaxMinorUnits || sum < -kMaxMinorUnits) return false;
    acc = static_cast<std::int64_t>(sum);
    return true;
}

}  // namespace

Result<Totals> compute_totals(const TotalsInput& input) {
    Totals t;
    t.lines.reserve(input.items.size());
    std::vector<FieldError> errors;
    for (std::size_t i = 0; i < input.items.size(); ++i) {
        const LineInput& in = input.items[i];
        LineTotals line;
        auto amount = try_line_amount(in.quantity, in.unit_price, in.discount_percent.value_or(Decimal{}));
        std::string field = "items[" + std::to_string(i) + "]";
        if (!amount || *amount > kMaxMinorUnits) {
            errors.push_back({field + ".amount", "the line amount exceeds the largest accepted amount"});
            continue;
        }
        line.amount = *amount;
        if (input.tax_exempt) {
            line.tax_rate = Decimal{};
        } else if (in.tax_rate) {
            line.tax_rate = *in.tax_rate;
        } else if (input.default_tax) {
            line.tax_rate = input.default_tax->rate;
            line.used_default = true;
        }
        auto tax = try_percent_of(line.amount, line.tax_rate);
        if (!tax) {
            errors.push_back({field + ".amount", "the line tax exceeds the largest accepted amount"});
            continue;
        }
        line.tax = *tax;
        if (!add_within_range(t.subtotal, line.amount) || !add_within_range(t.tax_amount, line.tax)) {
            errors.push_back({"total_amount", "the invoice total exceeds the largest accepted amount"});
            break;
        }
        if (line.used_default) t.tax_label = input.default_tax->label;
        t.lines.push_back(line);
    }
    if (errors.empty()) {
        std::int64_t gross = t.subtotal + t.tax_amount;
        if (input.discount_amount < 0) {
            errors.push_back({"discount_amount", "must not be negative"});
        } else if (input.discount_amount > gross) {
            errors.push_back({"discount_amount", "must not exceed the subtotal plus tax (" +
                                                     std::to_string(gross) + " minor units)"});
        } else if (gross > kMaxMinorUnits) {
            errors.push_back({"total_amount", "the invoice total exceeds the largest accepted amount"});
        }
        t.discount_amount = input.discount_amount;
        t.total_amount = gross - input.discount_amount;
    }
    if (!errors.empty()) {
        Error e = Error::validation(errors.front().field, errors.front().message);
        e.details = std::move(errors);
        return e;
    }
    return t;
}

std::string status_after_payment(std::int64_t total_amount, std::int64_t amount_paid, const std::string& current,
                                 bool was_viewed) {
    if (current == "draft" || current == "cancelled") return current;
    if (amount_paid >= total_amount && total_amount > 0) return "paid";
    if (amount_paid > 0) return "partial";
    // Nothing (left) paid, e.g. after a full refund: back to where the invoice was before payments.
    if (current == "overdue") return current;
    return was_viewed ? "viewed" : "sent";
}

}  // namespace flashbill::domain::invoices
