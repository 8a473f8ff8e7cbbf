// Access tokens: what verify_access_token accepts and everything it must refuse (RFC 8725), and the
// base64url codec under it.

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth/jwt.hpp"

namespace flashbill::auth {
namespace {

constexpr std::string_view kSecret = "unit-test-secret-0123456789abcdef0123456789";
constexpr std::int64_t kNow = 1'900'000'000;
constexpr const char* kUser = "0b6f3a52-2a0c-4b55-9d1f-1f1d8f0c7a10";
constexpr const char* kOrg = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

AccessClaims claims() {
    AccessClaims c;
    c.sub = kUser;
    c.org = kOrg;
    c.role = "admin";
    c.iat = kNow - 10;
    c.exp = kNow + 890;
    c.ver = 3;
    return c;
}

// A token with any header and payload text, HMAC-signed with `secret` unless a signature is given.
std::string forge(std::string_view header, std::string_view payload, std::string_view secret = kSecret,
                  std::optional<std::string> signature = std::nullopt) {
    std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    std::string sig = signature ? *signature : base64url_encode(hmac_sha256(secret, input));
    return input + "." + sig;
}

std::string payload(std::string_view typ = "access", std::int64_t exp = kNow + 600, std::string extra = "") {
    return std::string(R"({"sub":")") + kUser + R"(","org":")" + kOrg + R"(","role":"owner","typ":")" +
           std::string(typ) + R"(","iat":)" + std::to_string(kNow - 5) + R"(,"exp":)" + std::to_string(exp) +
           R"(,"ver":0)" + extra + "}";
}

constexpr std::string_view kHs256 = R"({"alg":"HS256","typ":"JWT"})";

void expect_rejected(const std::string& token, std::string_view why) {
    auto r = verify_access_token(token, kSecret, kNow);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthorized) << why;
}

TEST(AccessToken, RoundTripsItsClaims) {
    std::string token = sign_access_token(claims(), kSecret);
    auto r = verify_access_token(token, kSecret, kNow);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->sub, kUser);
    EXPECT_EQ(r->org, kOrg);
    EXPECT_EQ(r->role, "admin");
    EXPECT_EQ(r->iat, kNow - 10);
    EXPECT_EQ(r->exp, kNow + 890);
    EXPECT_EQ(r->ver, 3);
}

TEST(AccessToken, AcceptsAHandBuiltHs256TokenWithHeaderFieldsInAnyOrder) {
    EXPECT_TRUE(verify_access_token(forge(R"({"typ":"JWT","alg":"HS256"})", payload()), kSecret, kNow).ok());
}

TEST(AccessToken, RejectsAlgNoneWithOrWithoutASignature) {
    expect_rejected(forge(R"({"alg":"none","typ":"JWT"})", payload(), kSecret, std::string()), "alg none, empty sig");
    expect_rejected(forge(R"({"alg":"none"})", payload()), "alg none, HMAC sig");
    expect_rejected(forge(R"({"alg":"None"})", payload()), "alg None");
    expect_rejected(forge(R"({"typ":"JWT"})", payload()), "no alg");
}

TEST(AccessToken, RejectsEveryOtherAlgorithmEvenWhenTheHmacIsRight) {
    for (const char* alg : {"HS384", "HS512", "RS256", "ES256", "PS256", "hs256", "HS256 "}) {
        expect_rejected(forge(std::string(R"({"alg":")") + alg + R"("})", payload()), alg);
    }
    expect_rejected(forge(R"({"alg":["HS256"]})", payload()), "alg array");
}

TEST(AccessToken, RejectsExpiredAndNotYetValid) {
    expect_rejected(forge(kHs256, payload("access", kNow)), "exp == now");
    expect_rejected(forge(kHs256, payload("access", kNow - 1)), "expired");
    expect_rejected(forge(kHs256, payload("access", kNow + 600, R"(,"nbf":)" + std::to_string(kNow + 30))), "nbf");
    expect_rejected(forge(kHs256, payload("access", kNow + 600, R"(,"nbf":"soon")")), "nbf not a number");
    EXPECT_TRUE(verify_access_token(forge(kHs256, payload("access", kNow + 600, R"(,"nbf":)" + std::to_string(kNow))),
                                    kSecret, kNow)
                    .ok());
}

TEST(AccessToken, RejectsTheWrongTokenType) {
    expect_rejected(forge(kHs256, payload("refresh")), "typ refresh");
    expect_rejected(forge(kHs256, payload("Access")), "typ Access");
    std::string no_typ = payload();
    no_typ.replace(no_typ.find(R"("typ":"access",)"), 15, "");
    expect_rejected(forge(kHs256, no_typ), "no typ");
    expect_rejected(forge(R"({"alg":"HS256","typ":"at+jwt"})", payload()), "header typ");
}

TEST(AccessToken, RejectsTamperingAndTheWrongKey) {
    std::string token = sign_access_token(claims(), kSecret);
    auto d1 = token.find('.');
    auto d2 = token.rfind('.');
    // Raise the role in the payload, keep the signature.
    AccessClaims raised = claims();
    raised.role = "owner";
    std::string other = sign_access_token(raised, kSecret);
    expect_rejected(token.substr(0, d1) + other.substr(d1, other.rfind('.') - d1) + token.substr(d2), "payload swap");
    // Flip one character of the signature.
    std::string flipped = token;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    expect_rejected(flipped, "signature flip");
    expect_rejected(sign_access_token(claims(), "another-secret-of-enough-length-0123456789"), "other key");
    expect_rejected(token.substr(0, d2 + 1), "no signature");
}

TEST(AccessToken, RejectsMalformedTokens) {
    std::string good = sign_access_token(claims(), kSecret);
    expect_rejected("", "empty");
    expect_rejected("abc", "one part");
    expect_rejected("a.b", "two parts");
    expect_rejected(good + ".x", "four parts");
    expect_rejected(good + "=", "padding");
    expect_rejected("!!!." + good.substr(good.find('.') + 1), "bad base64 header");
    expect_rejected(forge("not json", payload()), "header not JSON");
    expect_rejected(forge(kHs256, "not json"), "payload not JSON");
    expect_rejected(forge(kHs256, "[1,2]"), "payload array");
    expect_rejected(forge(kHs256, R"({"sub":"x","org":"y","role":"owner","typ":"access","iat":1,"exp":9999999999,"ver":0})"),
                    "sub not a uuid");
    expect_rejected(forge(kHs256, payload("access", kNow + 600).replace(payload().find(R"("ver":0)"), 7, R"("ver":"0")")),
                    "ver a string");
    expect_rejected(std::string(5000, 'a') + "." + std::string(10, 'b') + ".c", "oversized");
}

TEST(Base64Url, RoundTripsEveryLength) {
    std::string bytes;
    for (int i = 0; i < 40; ++i) {
        auto enc = base64url_encode(bytes);
        EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
        auto dec = base64url_decode(enc);
        ASSERT_TRUE(dec.has_value()) << i;
        EXPECT_EQ(*dec, bytes);
        bytes += static_cast<char>(i * 37 + 200);
    }
}

TEST(Base64Url, DecodesStrictly) {
    EXPECT_FALSE(base64url_decode("QQ==").has_value()) << "padding";
    EXPECT_FALSE(base64url_decode("QR").has_value()) << "non-zero trailing bits: a second spelling of 'A'";
    EXPECT_TRUE(base64url_decode("QQ").has_value());
    EXPECT_FALSE(base64url_decode("Q").has_value()) << "impossible length";
    EXPECT_FALSE(base64url_decode("a+b/").has_value()) << "standard alphabet";
}

TEST(Secrets, RandomTokensAreLongAndDistinct) {
    auto a = random_token(32), b = random_token(32);
    EXPECT_EQ(a.size(), 43u);
    EXPECT_NE(a, b);
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace flashbill::auth
