#pragma once
// Authentication building blocks (SPEC §3): HS256 JWTs signed with --jwt-secret carrying the
// domain's roles (read < write < maintain < admin; worker tokens live outside the ladder), Bearer header
// parsing and the built-in `admin` user. No HTTP here: the routes decide which role they need and
// call `allows`. Nothing in this header throws; failures are values whose messages never contain
// the token or a password, so callers may log them (SPEC §10).

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/error.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::auth {

/// The domain's roles and their ladder, named here too because tokens carry them.
using role = domain::role;
using domain::allows;
using domain::parse_role;
using domain::to_string;

/// What a token says. `worker` and `r == role::worker` always agree in tokens `verify` accepts.
struct claims {
  std::string subject;
  role r = role::read;
  bool worker = false;
  std::int64_t issued_at = 0;   // Unix seconds
  std::int64_t expires_at = 0;  // Unix seconds; 0 = never
  std::int64_t not_before = 0;  // Unix seconds (`nbf`); 0 = none
  /// The account's stamp when the token came from a login (`stamp`): the token holds only while
  /// the account exists with this stamp (user_store::role_of). Empty for tokens not tied to an
  /// account (`pikoci-node user-token`, the built-in admin, workers).
  std::string stamp;
};

/// Longest token `verify` looks at; real ones are ~200 bytes.
inline constexpr std::size_t max_token_size = 8 * 1024;

/// Compact JWT `header.payload.signature`, HS256 over `claims`. Empty only if HMAC fails.
std::string sign(const std::string& secret, const claims& c);

struct verify_result {
  std::optional<claims> ok;
  std::string error;  // set when !ok; safe to log (never quotes the token)
  explicit operator bool() const { return ok.has_value(); }
};

/// Checks shape, algorithm (exactly HS256), signature (constant time), expiry (`exp <= now` is
/// expired), `nbf` (`nbf > now` is not valid yet) and claims. `now` is Unix seconds.
verify_result verify(const std::string& secret, std::string_view token, std::int64_t now);

struct bearer_result {
  std::optional<std::string> token;
  std::string error;  // set when !token
  explicit operator bool() const { return token.has_value(); }
};

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
bearer_result parse_bearer(std::string_view authorization_header);

/// The browser's session (docs/web-ui.md): a login token in an HttpOnly cookie of this name, and
/// on writes the token's CSRF token in a header, which only the node's own pages can learn.
inline constexpr std::string_view session_cookie = "pikoci_session";

/// The `pikoci_session` value of a `Cookie` header value (the first one), if it has one.
std::optional<std::string> session_token(std::string_view cookie_header);
/// The CSRF token of a session token: lower-case hex HMAC-SHA256 of it under `secret`. Empty
/// only if HMAC fails.
std::string csrf_token(const std::string& secret, std::string_view token);
/// Whether `given` is `token`'s CSRF token, compared in constant time.
bool csrf_matches(const std::string& secret, std::string_view token, std::string_view given);

/// RFC 4648 §5 without padding. Decoding is strict (no padding, no whitespace, unused trailing
/// bits must be zero) so one token has exactly one spelling.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

/// `bytes` random bytes from OpenSSL's CSPRNG as base64url (webhook tokens, generated passwords);
/// nullopt when the generator fails.
std::optional<std::string> random_token(std::size_t bytes);

/// A password as stored: PBKDF2-HMAC-SHA256 of it with a per-user random salt.
struct password_hash {
  std::array<unsigned char, 16> salt{};
  std::array<unsigned char, 32> hash{};
};

/// An account as listed (no password material).
struct account {
  std::string name;
  role r = role::read;
  bool builtin = false;         // the `admin` of --admin-password
  std::int64_t created_at = 0;  // Unix seconds; 0 for the built-in admin
};

/// Users who can log in with a password: the built-in `admin` (its password from
/// --admin-password, never stored, or generated once and its hash stored) and the accounts
/// created through the API, whose records
/// (`record`) the caller stores and hands back to `load` at start. Thread-safe: the HTTP edge
/// reads it on every request while the node changes it.
class user_store {
 public:
  /// PBKDF2-HMAC-SHA256 work factor: 30-40 ms per check on the 2-core development machine.
  static constexpr std::uint32_t pbkdf2_iterations = 100000;
  static constexpr std::size_t max_name_length = 64;
  static constexpr std::size_t min_password_length = 8;
  static constexpr std::size_t max_password_length = 1024;

  /// `admin_password` empty: the admin's password is the one `stored_admin` (an `admin_record()`
  /// of an earlier start) holds, else a random 24-character URL-safe password is generated and
  /// handed out once by `generated_password()`.
  explicit user_store(std::string admin_password = {}, std::string_view stored_admin = {});
  ~user_store();
  user_store(const user_store&) = delete;
  user_store& operator=(const user_store&) = delete;

  /// The generated admin password the first time it is called (so it is logged once), then "".
  /// Always "" when a password was given.
  std::string generated_password();

  /// The built-in admin's password as kept between starts (PBKDF2 salt and hash, JSON, no
  /// password): what `stored_admin` takes at the next start.
  std::string admin_record() const;
  /// True when the admin's password is the one `stored_admin` held.
  bool admin_restored() const { return admin_restored_; }

  /// Non-empty when the random generator failed or `stored_admin` is unreadable: then nobody can
  /// log in.
  const std::string& init_error() const { return init_error_; }

  /// Claims for a user token when the password is right (compared in constant time); `ttl_seconds`
  /// 0 gives a token that never expires. nullopt for an unknown user or a wrong password, with no
  /// timing difference between the two.
  std::optional<claims> login(std::string_view username, std::string_view password,
                              std::int64_t now, std::int64_t ttl_seconds) const;

  /// Why `name` cannot name an account ("" when it can): 1 to 64 of `a-z 0-9 . _ -`, starting
  /// with a letter or digit.
  static std::string name_problem(std::string_view name);
  /// Why `password` cannot be one ("" when it can): 8 to 1024 bytes.
  static std::string password_problem(std::string_view password);
  /// `password` hashed with a fresh salt (tens of milliseconds: keep it off shared threads);
  /// nullopt when the random generator fails.
  static std::optional<password_hash> hash_password(std::string_view password);

  /// Each change answers the account's record to store under its name, or why not (bad_request,
  /// conflict, forbidden, not_found). A new password or a new account gets a new stamp, so tokens
  /// of earlier logins (or of a deleted account of the same name) stop working.
  std::variant<std::string, domain::error> create(const std::string& name, role r,
                                                  const password_hash& password, std::int64_t now);
  std::variant<std::string, domain::error> set_role(const std::string& name, role r);
  std::variant<std::string, domain::error> set_password(const std::string& name,
                                                        const password_hash& password);
  /// Nothing when removed; the caller erases the stored record.
  std::optional<domain::error> remove(const std::string& name);
  /// A stored record back; false (and nothing changed) when it is malformed.
  bool load(std::string_view record);
  /// Forgets the account `name` without a record to erase (cluster mode: another node deleted
  /// it); false when there is none. Never the built-in admin.
  bool forget(std::string_view name);
  /// A replicated change of the account `name` (cluster mode, from the record `user/<name>` of
  /// the global topic): its record, or nullopt for a deletion. False (nothing changed) for a
  /// malformed record, one of another name, or a deletion of no account.
  bool apply(std::string_view name, const std::optional<std::string>& record);

  /// Every account, the built-in admin first, then by name.
  std::vector<account> list() const;
  /// The role a user token of `subject` holds now. A token with a stamp holds the current role of
  /// the account it came from, and nothing (nullopt) once that account is deleted or its password
  /// changed. A token without one keeps its own role `signed_role`.
  std::optional<role> role_of(const std::string& subject, const std::string& stamp,
                              role signed_role) const;

 private:
  struct user {
    std::string name;
    role r = role::read;
    password_hash password;
    std::string stamp;  // "" for the built-in admin
    std::int64_t created_at = 0;
  };
  static std::string record_of(const user& u);
  static std::optional<password_hash> admin_hash_of(std::string_view record);
  user* find(const std::string& name);
  const user* find(const std::string& name) const;
  std::optional<domain::error> refuse_builtin(const std::string& name, const char* what) const;

  mutable std::mutex mu_;
  std::vector<user> users_;  // the admin first, then by name
  std::string generated_;
  std::string init_error_;
  bool admin_restored_ = false;
};

/// Exponential backoff of password logins, per client address and per user name: the first
/// `free_failures` failures in a row cost nothing; after that each failure doubles the wait before
/// the next attempt of that address or user (`base`, 2×`base`, ... up to `cap`). A success clears
/// both. Entries are forgotten `forget_after` after their last failure, and at most `max_entries`
/// are kept (the oldest go first), so the table cannot grow without bound. Thread-safe.
class login_throttle {
 public:
  using clock = std::chrono::steady_clock;
  struct options {
    int free_failures = 5;
    std::chrono::milliseconds base{1000};
    std::chrono::milliseconds cap{std::chrono::minutes(5)};
    std::chrono::milliseconds forget_after{std::chrono::minutes(15)};
    std::size_t max_entries = 10000;
  };

  login_throttle() : login_throttle(options{}) {}
  explicit login_throttle(options o) : o_(o) {}

  /// How long `address` and `user` must still wait before trying; zero when they may try now.
  std::chrono::milliseconds wait(const std::string& address, const std::string& user,
                                 clock::time_point now);
  void failed(const std::string& address, const std::string& user, clock::time_point now);
  void succeeded(const std::string& address, const std::string& user);

 private:
  struct entry {
    int failures = 0;
    clock::time_point last;
  };
  using table = std::map<std::string, entry>;
  std::chrono::milliseconds wait_of(const table& t, const std::string& key,
                                    clock::time_point now) const;
  void fail(table& t, const std::string& key, clock::time_point now);

  options o_;
  std::mutex mu_;
  table addresses_, users_;
};

}  // namespace pikoci::auth
