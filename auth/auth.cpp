#include "auth/auth.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <limits>
#include <set>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

namespace pikoci::auth {
namespace {

using json = nlohmann::json;

constexpr char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

using digest = std::array<unsigned char, 32>;

std::optional<digest> hmac_sha256(const std::string& key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
  digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    return std::nullopt;
  }
  return out;
}

/// Parses a JWT segment as a JSON object, refusing duplicate top-level members: parsers disagree
/// on which duplicate wins, and a second "alg" or "exp" must not be able to hide behind the first.
std::optional<json> parse_object(const std::string& text, std::string& error) {
  std::set<std::string> keys;
  bool duplicate = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!keys.insert(parsed.get<std::string>()).second) duplicate = true;
    }
    return true;
  };
  json j = json::parse(text, cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    error = "not JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  if (duplicate) {
    error = "duplicate member";
    return std::nullopt;
  }
  return j;
}

/// An integer claim that fits int64; floats, strings and huge values are refused.
std::optional<std::int64_t> int_claim(const json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  return std::nullopt;
}

verify_result fail(std::string message) {
  return {std::nullopt, std::move(message)};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool derive(std::string_view password, const std::array<unsigned char, 16>& salt,
            std::array<unsigned char, 32>& out) {
  if (password.size() > static_cast<std::size_t>(INT_MAX)) return false;
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                           static_cast<int>(salt.size()),
                           static_cast<int>(user_store::pbkdf2_iterations), EVP_sha256(),
                           static_cast<int>(out.size()), out.data()) == 1;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += b64url_alphabet[(n >> 18) & 63];
    out += b64url_alphabet[(n >> 12) & 63];
    out += b64url_alphabet[(n >> 6) & 63];
    out += b64url_alphabet[n & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t n = at(i) << 16;
    out += b64url_alphabet[(n >> 18) & 63];
    out += b64url_alphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8);
    out += b64url_alphabet[(n >> 18) & 63];
    out += b64url_alphabet[(n >> 12) & 63];
    out += b64url_alphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to that length
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, or "AB" and "AC" would decode to the same byte.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string sign(const std::string& secret, const claims& c) {
  // nlohmann::json sorts members, so the same claims always give the same token.
  static const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  json payload = {{"sub", c.subject},
                  {"role", std::string(to_string(c.r))},
                  {"kind", c.worker ? "worker" : "user"},
                  {"iat", c.issued_at}};
  if (c.expires_at != 0) payload["exp"] = c.expires_at;
  if (c.not_before != 0) payload["nbf"] = c.not_before;
  if (!c.stamp.empty()) payload["stamp"] = c.stamp;
  std::string signing_input =
      header + "." + base64url_encode(payload.dump(-1, ' ', false, json::error_handler_t::replace));
  auto mac = hmac_sha256(secret, signing_input);
  if (!mac) return {};
  return signing_input + "." +
         base64url_encode({reinterpret_cast<const char*>(mac->data()), mac->size()});
}

verify_result verify(const std::string& secret, std::string_view token, std::int64_t now) {
  if (secret.empty()) return fail("no signing secret configured");
  if (token.empty()) return fail("empty token");
  if (token.size() > max_token_size) return fail("token too long");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail("malformed token: expected header.payload.signature");
  }
  auto header_b64 = token.substr(0, dot1);
  auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto signature_b64 = token.substr(dot2 + 1);

  auto header_text = base64url_decode(header_b64);
  if (!header_text || header_text->empty()) return fail("malformed token: bad header encoding");
  std::string error;
  auto header = parse_object(*header_text, error);
  if (!header) return fail("malformed token: header " + error);
  // Only HS256 is ever accepted, whatever the token asks for: this is what defeats "alg":"none"
  // and algorithm-confusion tokens.
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return fail("malformed token: no algorithm");
  if (alg->get<std::string>() != "HS256") return fail("unsupported token algorithm");
  auto typ = header->find("typ");
  if (typ != header->end() && !(typ->is_string() && iequals(typ->get<std::string>(), "JWT"))) {
    return fail("unsupported token type");
  }
  // RFC 7515 §4.1.11: extensions we do not understand must be refused.
  if (header->contains("crit")) return fail("unsupported critical token header");

  auto signature = base64url_decode(signature_b64);
  if (!signature || signature->size() != 32) return fail("malformed token: bad signature encoding");
  auto expected = hmac_sha256(secret, token.substr(0, dot2));
  if (!expected) return fail("cannot compute token signature");
  if (CRYPTO_memcmp(expected->data(), signature->data(), expected->size()) != 0) {
    return fail("bad token signature");
  }

  // Signed by us from here on; still checked, since a bad claim is a bug we should not trust.
  auto payload_text = base64url_decode(payload_b64);
  if (!payload_text) return fail("malformed token: bad payload encoding");
  auto payload = parse_object(*payload_text, error);
  if (!payload) return fail("malformed token: payload " + error);

  claims c;
  auto sub = payload->find("sub");
  if (sub == payload->end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return fail("token has no subject");
  }
  c.subject = sub->get<std::string>();
  auto r = payload->find("role");
  std::optional<role> parsed_role;
  if (r != payload->end() && r->is_string()) parsed_role = parse_role(r->get<std::string>());
  if (!parsed_role) return fail("token has an unknown role");
  c.r = *parsed_role;
  auto kind = payload->find("kind");
  if (kind == payload->end() || !kind->is_string()) return fail("token has an unknown kind");
  if (kind->get<std::string>() == "worker") {
    c.worker = true;
  } else if (kind->get<std::string>() != "user") {
    return fail("token has an unknown kind");
  }
  if (c.worker != (c.r == role::worker)) return fail("token role does not match its kind");
  auto iat = payload->find("iat");
  if (iat != payload->end()) {
    auto v = int_claim(*iat);
    if (!v) return fail("token has a bad iat");
    c.issued_at = *v;
  }
  auto exp = payload->find("exp");
  if (exp != payload->end()) {
    auto v = int_claim(*exp);
    if (!v) return fail("token has a bad exp");
    if (*v <= now) return fail("token expired");
    c.expires_at = *v;
  }
  auto nbf = payload->find("nbf");
  if (nbf != payload->end()) {
    auto v = int_claim(*nbf);
    if (!v) return fail("token has a bad nbf");
    if (*v > now) return fail("token not valid yet");
    c.not_before = *v;
  }
  auto stamp = payload->find("stamp");
  if (stamp != payload->end()) {
    if (!stamp->is_string() || stamp->get<std::string>().empty() ||
        stamp->get<std::string>().size() > 64)
      return fail("token has a bad stamp");
    if (c.worker) return fail("worker tokens have no stamp");
    c.stamp = stamp->get<std::string>();
  }
  return {std::move(c), {}};
}

bearer_result parse_bearer(std::string_view header) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  header = trim(header);
  if (header.empty()) return {std::nullopt, "missing Authorization header"};
  auto space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "Bearer")) {
    return {std::nullopt, "Authorization header is not a Bearer token"};
  }
  auto token = trim(header.substr(space + 1));
  if (token.empty()) return {std::nullopt, "empty Bearer token"};
  if (token.size() > max_token_size) return {std::nullopt, "Bearer token too long"};
  // RFC 6750 token68 characters; a space inside means two words, not one token.
  for (char c : token) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
              c == '~' || c == '+' || c == '/' || c == '=';
    if (!ok) return {std::nullopt, "malformed Bearer token"};
  }
  return {std::string(token), {}};
}

std::optional<std::string> session_token(std::string_view header) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != session_cookie) continue;
    auto value = pair.substr(eq + 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty() || value.size() > max_token_size) return std::nullopt;  // "": logged out
    return std::string(value);
  }
  return std::nullopt;
}

std::string csrf_token(const std::string& secret, std::string_view token) {
  auto mac = hmac_sha256(secret, token);
  if (!mac) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : *mac) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

bool csrf_matches(const std::string& secret, std::string_view token, std::string_view given) {
  auto expected = csrf_token(secret, token);
  return !expected.empty() && given.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

std::optional<std::string> random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return std::nullopt;
  auto token = base64url_encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return token;
}

user_store::user_store(std::string admin_password, std::string_view stored_admin) {
  if (admin_password.empty() && !stored_admin.empty()) {
    auto stored = admin_hash_of(stored_admin);
    if (!stored) {
      init_error_ =
          "the stored admin password is unreadable (start with --admin-password to set one)";
      return;
    }
    user admin;
    admin.name = "admin";
    admin.r = role::admin;
    admin.password = *stored;
    users_.push_back(admin);
    admin_restored_ = true;
    return;
  }
  if (admin_password.empty()) {
    // 18 random bytes are exactly 24 base64url characters (144 bits).
    auto generated = random_token(18);
    if (!generated) {
      init_error_ = "cannot generate the admin password: random generator failed";
      return;
    }
    admin_password = *generated;
    generated_ = admin_password;
  }
  user admin;
  admin.name = "admin";
  admin.r = role::admin;
  if (auto hashed = hash_password(admin_password)) {
    admin.password = *hashed;
    users_.push_back(admin);
  } else {
    init_error_ = "cannot hash the admin password: random generator failed";
  }
  OPENSSL_cleanse(admin_password.data(), admin_password.size());
  if (!init_error_.empty()) {
    OPENSSL_cleanse(generated_.data(), generated_.size());
    generated_.clear();
  }
}

user_store::~user_store() {
  OPENSSL_cleanse(generated_.data(), generated_.size());
}

std::string user_store::generated_password() {
  std::string out = generated_;
  OPENSSL_cleanse(generated_.data(), generated_.size());
  generated_.clear();
  return out;
}

std::optional<claims> user_store::login(std::string_view username, std::string_view password,
                                        std::int64_t now, std::int64_t ttl_seconds) const {
  // A copy, so the slow derivation runs without the lock.
  std::optional<user> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (const user* u = find(std::string(username))) found = *u;
  }
  // An unknown user still pays for one derivation, so response time does not reveal user names.
  static const std::array<unsigned char, 16> dummy_salt{};
  std::array<unsigned char, 32> hash{};
  bool derived = derive(password, found ? found->password.salt : dummy_salt, hash);
  bool match =
      derived && found && CRYPTO_memcmp(hash.data(), found->password.hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(hash.data(), hash.size());
  if (!match) return std::nullopt;
  claims c;
  c.subject = found->name;
  c.r = found->r;
  c.worker = false;
  c.stamp = found->stamp;
  c.issued_at = now;
  if (ttl_seconds > 0) {
    c.expires_at = now > std::numeric_limits<std::int64_t>::max() - ttl_seconds
                       ? std::numeric_limits<std::int64_t>::max()
                       : now + ttl_seconds;
  }
  return c;
}

namespace {

std::string encode(const unsigned char* p, std::size_t n) {
  return base64url_encode({reinterpret_cast<const char*>(p), n});
}

template <std::size_t N>
bool decode_into(const json& j, const char* field, std::array<unsigned char, N>& out) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return false;
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes || bytes->size() != N) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

domain::error no_user(const std::string& name) {
  return {domain::errc::not_found, "user \"" + name + "\" not found"};
}

}  // namespace

std::string user_store::name_problem(std::string_view name) {
  if (name.empty() || name.size() > max_name_length)
    return "a user name is 1 to " + std::to_string(max_name_length) + " characters";
  auto ok = [](char c, bool first) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0))
      return "a user name is made of a-z, 0-9, '.', '_' and '-', and starts with a letter or "
             "digit";
  return {};
}

std::string user_store::password_problem(std::string_view password) {
  if (password.size() < min_password_length)
    return "a password is at least " + std::to_string(min_password_length) + " characters";
  if (password.size() > max_password_length)
    return "a password is at most " + std::to_string(max_password_length) + " bytes";
  return {};
}

std::optional<password_hash> user_store::hash_password(std::string_view password) {
  password_hash h;
  if (RAND_bytes(h.salt.data(), static_cast<int>(h.salt.size())) != 1) return std::nullopt;
  if (!derive(password, h.salt, h.hash)) return std::nullopt;
  return h;
}

user_store::user* user_store::find(const std::string& name) {
  for (auto& u : users_)
    if (u.name == name) return &u;
  return nullptr;
}

const user_store::user* user_store::find(const std::string& name) const {
  for (const auto& u : users_)
    if (u.name == name) return &u;
  return nullptr;
}

std::optional<domain::error> user_store::refuse_builtin(const std::string& name,
                                                        const char* what) const {
  if (name != "admin") return std::nullopt;
  return domain::error{domain::errc::forbidden, std::string("the built-in admin ") + what};
}

std::variant<std::string, domain::error> user_store::create(const std::string& name, role r,
                                                            const password_hash& password,
                                                            std::int64_t now) {
  if (auto problem = name_problem(name); !problem.empty())
    return domain::error{domain::errc::bad_request, problem};
  if (r == role::worker)
    return domain::error{domain::errc::bad_request,
                         "a user's role is read, write, maintain or admin"};
  auto stamp = random_token(12);
  if (!stamp) return domain::error{domain::errc::internal, "random generator failed"};
  std::lock_guard<std::mutex> lock(mu_);
  if (find(name) != nullptr)
    return domain::error{domain::errc::conflict, "user \"" + name + "\" already exists"};
  user u{name, r, password, *stamp, now};
  auto at = std::find_if(users_.begin() + (users_.empty() ? 0 : 1), users_.end(),
                         [&](const user& o) { return o.name > name; });
  users_.insert(at, u);
  return record_of(u);
}

std::variant<std::string, domain::error> user_store::set_role(const std::string& name, role r) {
  if (r == role::worker)
    return domain::error{domain::errc::bad_request,
                         "a user's role is read, write, maintain or admin"};
  if (auto no = refuse_builtin(name, "keeps the admin role")) return *no;
  std::lock_guard<std::mutex> lock(mu_);
  user* u = find(name);
  if (u == nullptr) return no_user(name);
  u->r = r;
  return record_of(*u);
}

std::variant<std::string, domain::error> user_store::set_password(const std::string& name,
                                                                  const password_hash& password) {
  if (auto no = refuse_builtin(name, "has the password of --admin-password")) return *no;
  auto stamp = random_token(12);
  if (!stamp) return domain::error{domain::errc::internal, "random generator failed"};
  std::lock_guard<std::mutex> lock(mu_);
  user* u = find(name);
  if (u == nullptr) return no_user(name);
  u->password = password;
  u->stamp = *stamp;
  return record_of(*u);
}

std::optional<domain::error> user_store::remove(const std::string& name) {
  if (auto no = refuse_builtin(name, "cannot be deleted")) return no;
  if (!forget(name)) return no_user(name);
  return std::nullopt;
}

std::string user_store::record_of(const user& u) {
  json j{{"name", u.name},
         {"role", std::string(to_string(u.r))},
         {"salt", encode(u.password.salt.data(), u.password.salt.size())},
         {"hash", encode(u.password.hash.data(), u.password.hash.size())},
         {"stamp", u.stamp},
         {"created_at", u.created_at}};
  return j.dump();
}

std::string user_store::admin_record() const {
  std::lock_guard<std::mutex> lock(mu_);
  return users_.empty() ? std::string() : record_of(users_.front());
}

std::optional<password_hash> user_store::admin_hash_of(std::string_view record) {
  auto j = json::parse(record, nullptr, false);
  password_hash h;
  if (!j.is_object() || j.value("name", std::string()) != "admin" ||
      !decode_into(j, "salt", h.salt) || !decode_into(j, "hash", h.hash))
    return std::nullopt;
  return h;
}

bool user_store::load(std::string_view record) {
  auto j = json::parse(record, nullptr, false);
  if (!j.is_object()) return false;
  user u;
  auto text = [&](const char* field) {
    auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  u.name = text("name");
  auto r = parse_role(text("role"));
  u.stamp = text("stamp");
  auto created = j.find("created_at");
  if (created != j.end() && created->is_number_integer())
    u.created_at = created->get<std::int64_t>();
  if (!name_problem(u.name).empty() || u.name == "admin" || !r || *r == role::worker ||
      u.stamp.empty() || !decode_into(j, "salt", u.password.salt) ||
      !decode_into(j, "hash", u.password.hash))
    return false;
  u.r = *r;
  std::lock_guard<std::mutex> lock(mu_);
  if (user* old = find(u.name)) {
    *old = u;
    return true;
  }
  auto at = std::find_if(users_.begin() + (users_.empty() ? 0 : 1), users_.end(),
                         [&](const user& o) { return o.name > u.name; });
  users_.insert(at, u);
  return true;
}

bool user_store::forget(std::string_view name) {
  if (name == "admin") return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it =
      std::find_if(users_.begin(), users_.end(), [&](const user& u) { return u.name == name; });
  if (it == users_.end()) return false;
  users_.erase(it);
  return true;
}

bool user_store::apply(std::string_view name, const std::optional<std::string>& record) {
  if (!record) return forget(name);
  // the key names the account: a record of another name would change an account nobody wrote
  auto j = json::parse(*record, nullptr, false);
  if (!j.is_object()) return false;
  auto it = j.find("name");
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>() != name) return false;
  return load(*record);
}

std::vector<account> user_store::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<account> out;
  for (const auto& u : users_) out.push_back({u.name, u.r, u.stamp.empty(), u.created_at});
  return out;
}

std::optional<role> user_store::role_of(const std::string& subject, const std::string& stamp,
                                        role signed_role) const {
  if (stamp.empty()) return signed_role;
  std::lock_guard<std::mutex> lock(mu_);
  const user* u = find(subject);
  // the stamps are random tokens, not secrets: a plain comparison is fine
  if (u == nullptr || u->stamp != stamp) return std::nullopt;
  return u->r;
}

std::chrono::milliseconds login_throttle::wait_of(const table& t, const std::string& key,
                                                  clock::time_point now) const {
  auto it = t.find(key);
  if (it == t.end() || it->second.failures <= o_.free_failures) return {};
  int over = std::min(it->second.failures - o_.free_failures - 1, 30);
  auto delay = std::min<std::chrono::milliseconds>(o_.cap, o_.base * (std::int64_t{1} << over));
  auto until = it->second.last + delay;
  if (until <= now) return {};
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

void login_throttle::fail(table& t, const std::string& key, clock::time_point now) {
  auto it = t.find(key);
  if (it != t.end() && now - it->second.last > std::max(o_.forget_after, o_.cap))
    it->second.failures = 0;  // a long time ago: start over
  if (it == t.end()) {
    if (t.size() >= o_.max_entries) {
      for (auto i = t.begin(); i != t.end();)  // forget what is old, then the oldest
        i = now - i->second.last > o_.forget_after ? t.erase(i) : std::next(i);
      if (t.size() >= o_.max_entries)
        t.erase(std::min_element(t.begin(), t.end(), [](const auto& a, const auto& b) {
          return a.second.last < b.second.last;
        }));
    }
    it = t.emplace(key, entry{}).first;
  }
  ++it->second.failures;
  it->second.last = now;
}

std::chrono::milliseconds login_throttle::wait(const std::string& address, const std::string& user,
                                               clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(wait_of(addresses_, address, now), wait_of(users_, user, now));
}

void login_throttle::failed(const std::string& address, const std::string& user,
                            clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  fail(addresses_, address, now);
  fail(users_, user, now);
}

void login_throttle::succeeded(const std::string& address, const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  addresses_.erase(address);
  users_.erase(user);
}

}  // namespace pikoci::auth
