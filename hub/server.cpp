#include "hub/server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "gazetteer/json.hpp"
#include "hub/api_json.hpp"
#include "hub/audit_api.hpp"
#include "hub/memory.hpp"
#include "hub/pki.hpp"
#include "hub/thread_name.hpp"
#include "hub/url.hpp"

namespace deit::hub {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

namespace {

// ---- small helpers ----

// Bridges a store completion (on the writer thread) back into the calling coroutine.
// Deliberately not a coroutine itself: GCC 12 mishandles lambdas passed by value into
// coroutine frames, so the initiation happens here and only the awaitable is returned.
template <typename T, typename Start>
auto await_result(Start start) {
  return net::async_initiate<decltype(net::use_awaitable), void(Result<T>)>(
      [](auto handler, Start start) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared](Result<T> r) mutable {
          auto ex = net::get_associated_executor(*shared);
          net::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      net::use_awaitable, std::move(start));
}

// A wake-up call for a coroutine waiting on new deliveries. raise() runs on the
// coroutine's strand; a raise while the coroutine is busy elsewhere is remembered.
struct Signal {
  explicit Signal(net::any_io_executor ex) : timer(ex) {}
  net::steady_timer timer;
  bool raised = false;
  void raise() {
    raised = true;
    timer.cancel();
  }
  net::awaitable<void> wait(std::chrono::steady_clock::duration d) {
    if (!raised) {
      timer.expires_after(d);
      co_await timer.async_wait(nothrow);
    }
    raised = false;
  }
};

std::function<void()> notifier(const std::shared_ptr<Signal>& signal, net::any_io_executor ex) {
  return [weak = std::weak_ptr<Signal>(signal), ex] {
    net::post(ex, [weak] {
      if (auto s = weak.lock()) s->raise();
    });
  };
}

int status_for(const Error& e) {
  const std::string& r = e.rule;
  if (r == "well-formed" || r == "doctype" || r == "depth" || r == "bad-request" || r == "utf-8") return 400;
  if (r == "forbidden") return 403;
  if (r == "not-found") return 404;
  if (r == "method") return 405;
  if (r == "conflict" || r == "sequence" || r == "buddy-unavailable") return 409;
  if (r == "size") return 413;
  if (r == "unsupported-media-type") return 415;
  if (r == "store" || r == "unavailable") return 503;
  return 422;  // schema, namespace, type, enumeration, routing, unknown-agency, translation, required
}

Response problem(const Request& req, int status, const Error& e) {
  json::object o{{"type", "urn:deit-hub:problem:" + e.rule},
                 {"title", std::string(http::obsolete_reason(static_cast<http::status>(status)))},
                 {"status", status},
                 {"detail", e.message},
                 {"rule", e.rule}};
  if (!e.field.empty()) o["field"] = e.field;
  if (e.line > 0) {
    o["line"] = e.line;
    o["column"] = e.column;
  }
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/problem+json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(o);
  res.prepare_payload();
  return res;
}

Response problem(const Request& req, const Error& e) { return problem(req, status_for(e), e); }

Response json_response(const Request& req, http::status status, const json::value& body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

std::uint64_t to_uint(const std::string& s, std::uint64_t fallback) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && end == s.data() + s.size() && !s.empty()) ? v : fallback;
}

std::vector<std::string_view> path_segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> out;
  while (!target.empty()) {
    if (target.front() == '/') {
      target.remove_prefix(1);
      continue;
    }
    const auto slash = target.find('/');
    out.push_back(target.substr(0, slash));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash);
  }
  return out;
}

// Where the verify callback leaves why it refused a client certificate, for the session
// to audit (the callback knows the certificate, the session knows the peer).
int tls_refusal_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Status load_tls(ssl::context& ctx, const TlsConfig& tls, bool server) {
  boost::system::error_code ec;
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  ctx.use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return Error::make("tls", "cannot load certificate " + tls.cert_file + ": " + ec.message(), "tls.cert");
  ctx.use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) return Error::make("tls", "cannot load key " + tls.key_file + ": " + ec.message(), "tls.key");
  ctx.load_verify_file(tls.ca_file, ec);
  if (ec) return Error::make("tls", "cannot load CA " + tls.ca_file + ": " + ec.message(), "tls.ca");
  if (!tls.crl_file.empty()) {
    FILE* f = std::fopen(tls.crl_file.c_str(), "rb");
    if (!f) return Error::make("tls", "cannot read CRL " + tls.crl_file, "tls.crl");
    X509_CRL* crl = PEM_read_X509_CRL(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!crl) return Error::make("tls", "not a PEM CRL: " + tls.crl_file, "tls.crl");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  if (server) {
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    static const unsigned char session_context[] = "deit-hub";
    SSL_CTX_set_session_id_context(ctx.native_handle(), session_context, sizeof session_context - 1);
    // No session resumption: every connection presents its certificate and has it checked
    // against the trust material in effect, CRL included. No client of the hub resumes,
    // and issuing TLS 1.3's two tickets cost about a fifth of a handshake's CPU (OpenSSL
    // 3.0 parses the client's certificate again to copy the session for each).
    // (A reload's new context could not have resumed an older context's sessions anyway.)
    SSL_CTX_set_num_tickets(ctx.native_handle(), 0);                 // TLS 1.3 tickets
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_TICKET);        // TLS 1.2 tickets
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);  // TLS 1.2 session ids
    // Log why a client certificate was refused (expired, revoked, unknown issuer).
    ctx.set_verify_callback([](bool preverified, ssl::verify_context& vc) {
      if (!preverified) {
        X509_STORE_CTX* store_ctx = vc.native_handle();
        const int err = X509_STORE_CTX_get_error(store_ctx);
        char subject[256] = {0};
        if (X509* cert = X509_STORE_CTX_get_current_cert(store_ctx))
          X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
        spdlog::warn("event=tls-refused subject=\"{}\" reason=\"{}\"", subject, X509_verify_cert_error_string(err));
        auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto* refusal = ssl ? static_cast<TlsRefusal*>(SSL_get_ex_data(ssl, tls_refusal_index())) : nullptr;
        if (refusal && !refusal->certificate_refused) {
          refusal->certificate_refused = true;
          X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
          char leaf_subject[256] = {0};
          if (leaf) X509_NAME_oneline(X509_get_subject_name(leaf), leaf_subject, sizeof leaf_subject);
          refusal->subject = leaf_subject;
          refusal->sha256 = leaf ? pki::sha256_fingerprint(leaf) : std::string();
          refusal->reason = X509_verify_cert_error_string(err);
          refusal->depth = X509_STORE_CTX_get_error_depth(store_ctx);
        }
      }
      return preverified;
    });
  } else {
    ctx.set_verify_mode(ssl::verify_peer);
  }
  return Status::success();
}

// The TLS material in use. A reload builds a new pair and swaps it in for new
// connections; each connection keeps the pair it was accepted (or dialled) with, since its
// SSL object and asio's verify callback belong to that context.
struct TlsContexts {
  ssl::context server{ssl::context::tls_server};
  ssl::context client{ssl::context::tls_client};
  std::uint64_t generation = 0;
  // When the material stops working, ms since the epoch (0: not present). An expired CRL
  // is the quiet one: with CRL checks on, OpenSSL then refuses every client certificate.
  std::int64_t certificate_expires_ms = 0;  // the hub's own certificate
  std::int64_t ca_expires_ms = 0;           // the earliest of the trusted CA certificates
  std::int64_t crl_next_update_ms = 0;      // the earliest nextUpdate of the CRLs
};

std::int64_t asn1_time_ms(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

// Fills in the expiry times of `tls` from its server context.
void read_expiries(TlsContexts& tls) {
  tls.certificate_expires_ms = asn1_time_ms(X509_get0_notAfter(SSL_CTX_get0_certificate(tls.server.native_handle())));
  auto earliest = [](std::int64_t current, std::int64_t candidate) {
    return candidate != 0 && (current == 0 || candidate < current) ? candidate : current;
  };
  X509_STORE* store = SSL_CTX_get_cert_store(tls.server.native_handle());
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509_OBJECT* object = sk_X509_OBJECT_value(objects, i);
    if (X509* ca = X509_OBJECT_get0_X509(object))
      tls.ca_expires_ms = earliest(tls.ca_expires_ms, asn1_time_ms(X509_get0_notAfter(ca)));
    if (X509_CRL* crl = X509_OBJECT_get0_X509_CRL(object))
      tls.crl_next_update_ms = earliest(tls.crl_next_update_ms, asn1_time_ms(X509_CRL_get0_nextUpdate(crl)));
  }
}

// An alert line for each piece of TLS material that has expired or soon will: 30 days
// ahead for certificates (time to have a new one issued), 3 for the CRL (often reissued
// weekly).
void alert_on_expiry(const TlsContexts& tls, const TlsConfig& files, std::int64_t now) {
  struct Item {
    const char* what;
    const std::string& file;
    std::int64_t expires;
    std::int64_t warn_ahead_days;
  };
  for (const Item& item : {Item{"certificate", files.cert_file, tls.certificate_expires_ms, 30},
                           Item{"ca", files.ca_file, tls.ca_expires_ms, 30},
                           Item{"crl", files.crl_file, tls.crl_next_update_ms, 3}}) {
    if (item.expires == 0) continue;
    const std::int64_t left_ms = item.expires - now;
    if (left_ms <= 0) {
      spdlog::error("event=alert kind=tls-expired what={} file={} expired={}{}", item.what, item.file,
                    format_time_ms(item.expires),
                    std::string_view(item.what) == "crl" ? " (every client certificate is refused until a new CRL is loaded)" : "");
    } else if (left_ms < item.warn_ahead_days * 86'400'000) {
      spdlog::warn("event=alert kind=tls-expiring what={} file={} expires={} days_left={}", item.what, item.file,
                   format_time_ms(item.expires), left_ms / 86'400'000);
    }
  }
}

// Empty when the client certificate of a live connection still verifies against `trust`'s
// CA and CRL, as the handshake checked it; else OpenSSL's reason (e.g. "certificate
// revoked"). For a connection accepted before a reload.
std::string verify_again(SSL* ssl, ssl::context& trust) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return "no client certificate";
  X509_STORE_CTX* check = X509_STORE_CTX_new();
  if (check == nullptr) return "out of memory";
  std::string why;
  // On a server the peer chain holds the intermediates only; the leaf is passed apart.
  if (X509_STORE_CTX_init(check, SSL_CTX_get_cert_store(trust.native_handle()), leaf, SSL_get_peer_cert_chain(ssl)) != 1) {
    why = "cannot set up verification";
  } else {
    X509_STORE_CTX_set_purpose(check, X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(check) != 1) why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(check));
  }
  X509_STORE_CTX_free(check);
  return why;
}

}  // namespace

// =======================================================================================

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Hub& hub;
  net::io_context& io;
  std::shared_ptr<TlsContexts> tls;  // what new connections use; tls_mutex guards the pointer
  std::mutex tls_mutex;
  std::atomic<std::uint64_t> tls_generation{0};  // tls->generation, readable without the lock
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> connections{0};
  std::vector<std::shared_ptr<Signal>> background;  // pushers and the sweeper, to wake on stop
  // Streams and long-polls, woken by a TLS reload so that they check their client's
  // certificate at once rather than when their wait ends.
  std::map<std::uint64_t, std::function<void()>> reload_wakers;
  std::uint64_t next_reload_waker = 0;
  std::set<std::string> pushing;  // agencies with a pusher running
  std::mutex background_mutex;    // guards background, reload_wakers and pushing

  net::thread_pool* work;
  std::atomic<int> preparing_in_place{0};  // submits being prepared on an I/O thread right now
  std::atomic<std::uint64_t> prepared_in_place_count{0}, prepared_in_pool_count{0};  // for /v1/health

  Impl(Hub& h, net::io_context& i, net::thread_pool* w) : hub(h), io(i), acceptor(i), work(w) {}

  // ---------------------------------------------------------------- TLS material

  std::shared_ptr<TlsContexts> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }

  // Reads the certificate, key, CA and CRL files named in the configuration again. New
  // connections use them at once; a connection accepted earlier has its client
  // certificate verified again before its next request (a stream or long-poll at once),
  // so a revocation takes effect without a restart. A file that does not load leaves
  // everything as it was.
  Status reload_tls(const std::string& actor) {
    const TlsConfig& files = hub.config().tls;
    auto fresh = std::make_shared<TlsContexts>();
    Status loaded = load_tls(fresh->server, files, true);
    if (loaded) loaded = load_tls(fresh->client, files, false);
    if (loaded) {
      read_expiries(*fresh);
      std::lock_guard lock(tls_mutex);
      fresh->generation = tls->generation + 1;
      tls = fresh;
      tls_generation = fresh->generation;
    }
    json::object detail{{"cert", files.cert_file}, {"ca", files.ca_file}, {"crl", files.crl_file}};
    if (loaded) {
      detail["generation"] = fresh->generation;
      spdlog::info("event=tls-reloaded generation={} cert={} ca={} crl={}", fresh->generation, files.cert_file,
                   files.ca_file, files.crl_file.empty() ? "none" : files.crl_file);
      alert_on_expiry(*fresh, files, now_ms());
      wake_reload_waiters();
    } else {
      spdlog::error("event=tls-reload-failed reason=\"{}\" (the previous certificates stay in use)",
                    loaded.error().describe());
    }
    hub.audit({actor, loaded ? "reload-tls" : "reload-tls-failed", AuditCategory::administration, "tls",
               json::serialize(detail), loaded ? "" : loaded.error().describe()});
    return loaded;
  }

  Result<Hub::ConfigReload> reload_config(const std::string& actor) {
    auto reloaded = hub.reload_config(actor);
    if (reloaded && reloaded->changes.any()) {
      start_pushers();
      wake_reload_waiters();
    }
    return reloaded;
  }

  // Streams, long-polls and pushers check what a reload changed for them at once.
  void wake_reload_waiters() {
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard lock(background_mutex);
      for (const auto& [id, waker] : reload_wakers) wake.push_back(waker);
    }
    for (const auto& waker : wake) waker();
  }

  // For /v1/health: the snapshot in use (null without one), its size and its updates.
  json::value gazetteer_health() {
    const auto gaz = hub.gazetteer();
    if (!gaz) return nullptr;
    return gazetteer::info_json(gaz->info());
  }

  // For /v1/health: which TLS material is loaded and when it stops working.
  json::object tls_health() {
    const auto current = current_tls();
    auto time_or_null = [](std::int64_t ms) { return ms == 0 ? json::value(nullptr) : json::value(format_time_ms(ms)); };
    return {{"generation", current->generation},
            {"certificate_expires", time_or_null(current->certificate_expires_ms)},
            {"ca_expires", time_or_null(current->ca_expires_ms)},
            {"crl_next_update", time_or_null(current->crl_next_update_ms)}};
  }

  // Registers `wake` to be called after each TLS or configuration reload, while the
  // returned guard lives.
  struct ReloadWaker {
    Impl& impl;
    std::uint64_t id;
    ReloadWaker(Impl& owner, std::uint64_t waker) : impl(owner), id(waker) {}
    ReloadWaker(const ReloadWaker&) = delete;
    ~ReloadWaker() {
      std::lock_guard lock(impl.background_mutex);
      impl.reload_wakers.erase(id);
    }
  };
  ReloadWaker wake_on_reload(std::function<void()> wake) {
    std::lock_guard lock(background_mutex);
    reload_wakers.emplace(next_reload_waker, std::move(wake));
    return ReloadWaker{*this, next_reload_waker++};
  }

  // Whether a connection whose client certificate was last verified under TLS generation
  // `checked` may go on. After a reload the certificate is verified again against the new
  // CA and CRL: empty if it passes (and `checked` moves on), else why not.
  // `who` (null for an unregistered certificate) and `subject_cn` only name it in the log.
  std::string still_trusted(SSL* ssl, std::uint64_t& checked, const Identity* who, std::string_view subject_cn) {
    if (tls_generation.load() == checked) return {};
    auto now = current_tls();
    std::string why = verify_again(ssl, now->server);
    if (why.empty()) {
      checked = now->generation;
    } else {
      spdlog::warn("event=certificate-no-longer-trusted identity=\"{}\" generation={} reason=\"{}\"",
                   who ? who->name() : std::string(subject_cn), now->generation, why);
    }
    return why;
  }

  // After a configuration reload, identifies a connection's certificate again, so that an
  // agency removed or a certificate rule changed takes effect on open connections as on new
  // ones. Leaves `identity` empty when the certificate names no identity any more.
  void identify_again(const PeerCertificate& certificate, std::uint64_t& identified_under,
                      Result<Identity>& identified, std::optional<Identity>& identity) {
    const std::uint64_t generation = hub.config_generation();
    if (generation == identified_under) return;
    identified_under = generation;
    identified = hub.identify(certificate);
    std::optional<Identity> now;
    if (identified) now = *identified;
    if (now == identity) return;
    spdlog::warn("event=identity-changed subject_cn=\"{}\" sha256={} from=\"{}\" to=\"{}\" generation={}{}",
                 certificate.subject_cn, certificate.sha256, identity ? identity->who() : std::string("none"),
                 now ? now->who() : std::string("none"), generation,
                 identified ? std::string() : " reason=\"" + identified.error().message + "\"");
    identity = std::move(now);
  }

  // After a configuration reload, whether a stream may go on: empty while its certificate
  // names the same agency (its roles may change: `who` follows), else why it must end.
  std::string stream_still_allowed(SSL* ssl, std::uint64_t& identified_under, Identity& who) {
    if (hub.config_generation() == identified_under) return {};
    Result<Identity> identified = who;
    std::optional<Identity> identity = who;
    identify_again(read_peer_certificate(SSL_get0_peer_certificate(ssl)), identified_under, identified, identity);
    if (!identity) return "certificate no longer identifies " + who.agency + ": " + identified.error().message;
    if (identity->agency != who.agency) return "certificate now identifies " + identity->name() + ", not " + who.agency;
    who = *identity;
    return {};
  }

  static Response no_longer_trusted(const Request& req, const std::string& why) {
    return problem(req, Error::make("forbidden", "the client certificate is no longer trusted: " + why, "certificate"));
  }

  // ---------------------------------------------------------------- listener

  net::awaitable<void> listen() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(io), nothrow);
      if (ec) {
        if (stopped || ec == net::error::operation_aborted) break;
        spdlog::warn("event=accept-failed error=\"{}\"", ec.message());
        continue;
      }
      if (connections >= hub.config().limits.max_connections) {
        spdlog::warn("event=connection-refused reason=\"connection limit {} reached\"", hub.config().limits.max_connections);
        continue;  // the socket closes as it goes out of scope
      }
      // No Nagle: a response or stream frame written while an earlier segment awaits the
      // peer's delayed ACK would otherwise wait up to 40 ms for it.
      boost::system::error_code no_delay_ec;
      socket.set_option(tcp::no_delay(true), no_delay_ec);
      auto ex = socket.get_executor();
      net::co_spawn(ex, session(std::move(socket)), net::detached);
    }
  }

  // ---------------------------------------------------------------- HTTPS session

  net::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    ++connections;
    struct Count {
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{connections};

    boost::system::error_code ignored;
    const auto remote = socket.remote_endpoint(ignored);
    const std::shared_ptr<TlsContexts> accepted_with = current_tls();  // outlives the stream
    std::uint64_t trusted_under = accepted_with->generation;
    TlsStream stream(std::move(socket), accepted_with->server);
    const Limits& limits = hub.config().limits;
    const std::string peer_address = remote.address().to_string() + ":" + std::to_string(remote.port());
    beast::get_lowest_layer(stream).expires_after(limits.header_timeout);
    TlsRefusal refusal;
    SSL_set_ex_data(stream.native_handle(), tls_refusal_index(), &refusal);
    auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::server, nothrow);
    SSL_set_ex_data(stream.native_handle(), tls_refusal_index(), nullptr);
    if (hs_ec) {
      spdlog::info("event=tls-handshake-failed peer={} error=\"{}\"", remote.address().to_string(), hs_ec.message());
      // Refused before there is any identity: the certificate (if any) and peer name it.
      hub.audit(tls_refusal_entry(refusal, peer_address, hs_ec.message()));
      co_return;
    }
    // The chain was verified by TLS; now the certificate must name exactly one identity.
    const PeerCertificate certificate = read_peer_certificate(SSL_get0_peer_certificate(stream.native_handle()));
    std::uint64_t identified_under = hub.config_generation();  // read before identify: a reload between is seen
    Result<Identity> identified = hub.identify(certificate);
    std::optional<Identity> identity;
    if (identified) {
      identity = *identified;
    } else {
      std::string sans;
      for (const auto& san : certificate.sans) sans += (sans.empty() ? "" : ",") + san;
      spdlog::warn("event={} peer={} subject_cn=\"{}\" san=\"{}\" sha256={} reason=\"{}\"", identified.error().rule,
                   remote.address().to_string(), certificate.subject_cn, sans, certificate.sha256, identified.error().message);
    }

    beast::flat_buffer buffer;
    bool first_request = true;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(limits.max_body_bytes);
      parser.header_limit(16 * 1024);
      // Slow clients must not hold connections: a header must be complete header_timeout
      // after its first byte (after the handshake, for the first request) however slowly it
      // trickles in. Only a kept-alive connection waits idle_timeout for the next request
      // to start; a body gets idle_timeout.
      if (!first_request && buffer.size() == 0) {
        beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);
        auto [idle_ec, got] = co_await stream.async_read_some(buffer.prepare(16 * 1024), nothrow);
        if (idle_ec) break;
        buffer.commit(got);
      }
      first_request = false;
      beast::get_lowest_layer(stream).expires_after(limits.header_timeout);
      auto [read_ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
      if (!read_ec && !parser.is_done()) {
        beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);
        auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, nothrow);
        read_ec = body_ec;
      }
      if (read_ec == http::error::end_of_stream || read_ec == net::ssl::error::stream_truncated) break;
      if (read_ec) {
        if (read_ec == http::error::body_limit) {
          spdlog::warn("event=refused agency={} rule=size reason=\"request body over {} bytes\"",
                       identity ? identity->name() : std::string("unknown"), limits.max_body_bytes);
          Request dummy{http::verb::post, "/", 11};
          dummy.keep_alive(false);
          Response res = problem(dummy, Error::make("size", "request body is larger than " +
                                                                std::to_string(limits.max_body_bytes) + " bytes"));
          hub.audit(refusal_entry(identity ? &*identity : nullptr, certificate.subject_cn, certificate.sha256, peer_address,
                                  std::string(parser.get().method_string()), std::string(parser.get().target()),
                                  res.result_int(), res.body()));
          co_await http::async_write(stream, res, nothrow);
        } else if (read_ec != beast::error::timeout && read_ec != net::error::operation_aborted &&
                   read_ec != net::error::eof && read_ec != net::error::connection_reset) {
          Request dummy{http::verb::get, "/", 11};
          dummy.keep_alive(false);
          Response res = problem(dummy, Error::make("bad-request", "malformed HTTP request: " + read_ec.message()));
          hub.audit(refusal_entry(identity ? &*identity : nullptr, certificate.subject_cn, certificate.sha256, peer_address, "?", "?", res.result_int(),
                                  res.body()));
          co_await http::async_write(stream, res, nothrow);
        }
        break;
      }
      Request req = parser.release();
      // After a configuration reload the certificate may name another identity, or none.
      identify_again(certificate, identified_under, identified, identity);
      // After a TLS reload, a certificate revoked since the handshake gets no further.
      const Identity* caller = identity ? &*identity : nullptr;
      std::string untrusted = still_trusted(stream.native_handle(), trusted_under, caller, certificate.subject_cn);
      if (websocket::is_upgrade(req) && untrusted.empty()) {
        if (!identity || identity->agency.empty()) {
          Response res = problem(req, Error::make("forbidden", "certificate is not an agency's", "certificate"));
          hub.audit(refusal_entry(identity ? &*identity : nullptr, certificate.subject_cn, certificate.sha256, peer_address,
                                  std::string(req.method_string()), std::string(req.target()), res.result_int(),
                                  res.body()));
          co_await http::async_write(stream, res, nothrow);
          break;
        }
        beast::get_lowest_layer(stream).expires_never();
        co_await stream_session(std::move(stream), std::move(req), *identity, trusted_under, identified_under);
        co_return;
      }
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      Response res;
      RequestAudit note;
      if (!untrusted.empty()) {
        res = no_longer_trusted(req, untrusted);
      } else if (identity) {
        res = co_await handle(req, *identity, note);
        // A reload while a long-poll waited: nothing is disclosed to a revoked certificate,
        // nor to one that no longer names the identity the request was answered for.
        untrusted = still_trusted(stream.native_handle(), trusted_under, caller, certificate.subject_cn);
        if (!untrusted.empty()) {
          note = RequestAudit{};
          res = no_longer_trusted(req, untrusted);
        } else if (hub.config_generation() != identified_under) {
          const Identity answered_as = *identity;
          identify_again(certificate, identified_under, identified, identity);
          if (identity != answered_as) {
            note = RequestAudit{};
            res = problem(req, Error::make("forbidden",
                                           "the configuration changed this certificate's identity while the request "
                                           "waited; send it again",
                                           "certificate"));
          }
        }
      } else {
        res = problem(req, Error::make("forbidden", identified.error().message, "certificate"));
      }
      // Every refusal and every read is in the audit log before the caller hears the answer.
      if (res.result_int() >= 400) {
        AuditEntry entry = refusal_entry(identity ? &*identity : nullptr, certificate.subject_cn, certificate.sha256, peer_address,
                                         std::string(req.method_string()), std::string(req.target()),
                                         res.result_int(), res.body());
        auto recorded = co_await await_result<AuditRecord>(
            [this, &entry](auto done) { hub.audit(std::move(entry), std::move(done)); });
        if (!recorded) spdlog::error("event=audit-write-failed reason=\"{}\"", recorded.error().describe());
      } else if (identity && !note.action.empty()) {
        AuditEntry entry = request_entry(*identity, std::string(req.method_string()), std::string(req.target()),
                                         std::move(note));
        auto recorded = co_await await_result<AuditRecord>(
            [this, &entry](auto done) { hub.audit(std::move(entry), std::move(done)); });
        // A read that cannot be recorded is not answered.
        if (!recorded) res = problem(req, 503, Error::make("unavailable", "cannot record the read in the audit log: " +
                                                                              recorded.error().message));
      }
      const bool keep_alive = res.keep_alive() && identity.has_value() && untrusted.empty();
      auto [write_ec, written] = co_await http::async_write(stream, res, nothrow);
      if (write_ec || !keep_alive) break;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(nothrow);
  }

  // ---------------------------------------------------------------- API

  net::awaitable<Response> handle(Request& req, const Identity& who, RequestAudit& note) {
    const auto parts = path_segments(req.target());
    const auto method = req.method();
    if (parts.empty() || parts[0] != "v1") co_return problem(req, Error::make("not-found", "no such resource", "path"));

    if (parts.size() == 2 && parts[1] == "health" && method == http::verb::get) {
      const auto store_counters = hub.store().counters();
      co_return json_response(req, http::status::ok,
                              {{"status", "ok"},
                               {"pending_deliveries", hub.dispatcher().pending_total()},
                               {"store", {{"commits", store_counters.commits}, {"ops", store_counters.ops}}},
                               {"submits", {{"prepared_in_place", prepared_in_place_count.load()},
                                            {"prepared_in_pool", prepared_in_pool_count.load()}}},
                               {"connections", connections.load()},
                               {"tls", tls_health()},
                               {"config", {{"generation", hub.config_generation()},
                                           {"agencies", hub.config().agencies.size()}}},
                               {"gazetteer", gazetteer_health()},
                               {"agency", who.agency},
                               {"identity", who.name()}});
    }
    if (!who.agency.empty()) hub.seen(who.agency, now_ms());  // the agency's link is up
    if (parts.size() == 2 && parts[1] == "transfers" && method == http::verb::post) co_return co_await submit(req, who);
    if (parts.size() == 2 && parts[1] == "transfers" && method == http::verb::get)
      co_return list_transfers(req, who, note);
    if (parts.size() == 3 && parts[1] == "transfers" && method == http::verb::get)
      co_return show_transfer(req, who, std::string(parts[2]), note);
    if (parts.size() == 4 && parts[1] == "transfers" && (parts[3] == "accept" || parts[3] == "reject") &&
        method == http::verb::post)
      co_return co_await decide(req, who, std::string(parts[2]), parts[3] == "accept");
    if (parts.size() == 4 && parts[1] == "transfers" && parts[3] == "regrade" && method == http::verb::post)
      co_return co_await decide(req, who, std::string(parts[2]), true, true);
    if (parts.size() == 4 && parts[1] == "transfers" && parts[3] == "reroute" && method == http::verb::post)
      co_return co_await reroute(req, who, std::string(parts[2]));
    if (parts.size() >= 2 && parts[1] == "buddy") co_return co_await buddy_api(req, who, parts, note);
    if (parts.size() == 2 && parts[1] == "inbox" && method == http::verb::get) co_return co_await inbox(req, who, note);
    if (parts.size() == 3 && parts[1] == "inbox" && parts[2] == "ack" && method == http::verb::post)
      co_return co_await ack(req, who);
    if (parts.size() >= 3 && parts[1] == "gazetteer" && method == http::verb::get)
      co_return gazetteer_query(req, parts, note);
    if (parts.size() >= 3 && parts[1] == "admin" && (parts[2] == "audit" || parts[2] == "transfers")) {
      if (!who.has_role(Role::administrator))
        co_return problem(req, Error::make("forbidden", "only an administrator may do this", "certificate"));
      if (parts.size() == 4 && parts[2] == "audit" && parts[3] == "verify" && method == http::verb::get)
        co_return verify_audit(req, note);
      if (parts.size() == 3 && parts[2] == "audit" && method == http::verb::get) co_return read_audit(req, note);
      if (parts.size() == 5 && parts[2] == "transfers" && parts[4] == "erase" && method == http::verb::post)
        co_return co_await erase(req, who, std::string(parts[3]));
    }
    if (parts.size() == 3 && parts[1] == "admin" && parts[2] == "reload-mappings" && method == http::verb::post) {
      if (!who.has_role(Role::administrator))
        co_return problem(req, Error::make("forbidden", "only an administrator may reload mappings", "certificate"));
      if (auto s = hub.reload_mappings(who.name()); !s) co_return problem(req, s.error());
      co_return json_response(req, http::status::ok, {{"status", "reloaded"}, {"dir", hub.config().mappings_dir}});
    }
    if (parts.size() == 3 && parts[1] == "admin" && parts[2] == "reload-tls" && method == http::verb::post) {
      if (!who.has_role(Role::administrator))
        co_return problem(req, Error::make("forbidden", "only an administrator may reload the TLS files", "certificate"));
      if (auto s = reload_tls(who.name()); !s) co_return problem(req, s.error());
      co_return json_response(req, http::status::ok, {{"status", "reloaded"}, {"generation", tls_generation.load()}});
    }
    if (parts.size() == 3 && parts[1] == "admin" && parts[2] == "reload-gazetteer" && method == http::verb::post) {
      if (!who.has_role(Role::administrator))
        co_return problem(req, Error::make("forbidden", "only an administrator may reload the gazetteer", "certificate"));
      auto reloaded = hub.reload_gazetteer(who.name());
      if (!reloaded) co_return problem(req, reloaded.error());
      co_return json_response(req, http::status::ok, {{"status", reloaded->changed ? "reloaded" : "unchanged"},
                                                      {"gazetteer", gazetteer::info_json(reloaded->info)}});
    }
    if (parts.size() == 3 && parts[1] == "admin" && parts[2] == "reload-config" && method == http::verb::post) {
      if (!who.has_role(Role::administrator))
        co_return problem(req, Error::make("forbidden", "only an administrator may reload the configuration", "certificate"));
      auto reloaded = reload_config(who.name());
      if (!reloaded) co_return problem(req, reloaded.error());
      json::object answer{{"status", reloaded->changes.any() ? "reloaded" : "unchanged"}};
      for (auto& field : config_reload_json(*reloaded)) answer.insert(std::move(field));
      co_return json_response(req, http::status::ok, answer);
    }
    if (parts.size() == 2 && parts[1] == "dead-letters" && method == http::verb::get)
      co_return dead_letters(req, who, note);
    if (parts.size() == 4 && parts[1] == "dead-letters" && parts[3] == "retry" && method == http::verb::post)
      co_return co_await retry_dead_letter(req, who, std::string(parts[2]));
    if (parts.size() >= 2 && (parts[1] == "transfers" || parts[1] == "inbox" || parts[1] == "dead-letters" ||
                              parts[1] == "health"))
      co_return problem(req, Error::make("method", std::string(req.method_string()) + " is not allowed here", "method"));
    co_return problem(req, Error::make("not-found", "no such resource", "path"));
  }

  // Preparing an incident costs some 200 µs of CPU. Every handler on the I/O threads runs in
  // turn, so with both threads preparing submits a stream's next frame waited behind every
  // connection's submit: at 5,000 /s offered from 256 connections the stream sent 1,000 to
  // 3,500 deliveries a second, the backlog grew to 30,000 and receipt p50 to 2 to 5 s while
  // submits were answered in 40 ms. So one I/O thread is always left free of this work: the
  // others prepare in place (no thread hop at ordinary rates) while fewer than io_threads-1
  // submits are being prepared, and any submit beyond that goes to the work pool.
  Result<SubmitRequest> prepare_in_place(Request& req, const Identity& who) {
    return hub.prepare_submit(who, req.body(), req[http::field::content_type]);
  }

  net::awaitable<Result<SubmitRequest>> prepare(Request& req, const Identity& who) {
    const int in_place_limit = hub.config().io_threads - 1;
    if (!work || preparing_in_place.fetch_add(1) < in_place_limit) {
      struct Leave {
        std::atomic<int>* n;
        ~Leave() {
          if (n) --*n;
        }
      } leave{work ? &preparing_in_place : nullptr};
      ++prepared_in_place_count;
      co_return prepare_in_place(req, who);
    }
    --preparing_in_place;
    ++prepared_in_pool_count;
    co_return co_await await_result<SubmitRequest>([this, &req, &who](auto done) {
      net::post(*work, [this, &req, &who, done = std::move(done)]() mutable {
        done(prepare_in_place(req, who));
      });
    });
  }

  net::awaitable<Response> submit(Request& req, const Identity& who) {
    auto prepared = co_await prepare(req, who);
    if (!prepared) {
      spdlog::warn("event=refused agency={} rule={} field=\"{}\" line={} column={} reason=\"{}\"", who.name(),
                   prepared.error().rule, prepared.error().field, prepared.error().line, prepared.error().column,
                   prepared.error().message);
      co_return problem(req, prepared.error());
    }
    const std::string message_id = prepared->message.message_id;
    spdlog::info("event=received sender={} message={} type={} receivers={}", who.agency, message_id,
                 model::to_string(prepared->message.type), prepared->targets.size());
    std::vector<std::string> findings;
    std::vector<std::pair<std::string, std::string>> routed;  // (reason, on behalf of) per transfer
    for (const auto& t : prepared->targets) {
      findings.push_back(t.findings_json);
      routed.emplace_back(t.reason, t.on_behalf_of);
    }
    // Lambdas bridged into co_await capture only pointers to this frame's locals: GCC 12
    // destroys by-value captures of such temporaries twice.
    SubmitRequest request = std::move(prepared).value();
    auto outcome = co_await await_result<SubmitOutcome>(
        [this, &request](auto done) { hub.commit_submit(std::move(request), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::array transfers;
    for (std::size_t i = 0; i < outcome->transfers.size(); ++i) {
      json::object t{{"id", outcome->transfers[i].first}, {"receiver", outcome->transfers[i].second}};
      if (i < findings.size() && !outcome->duplicate) {
        t["findings"] = json::parse(findings[i]);
        t["reason"] = routed[i].first;
        if (!routed[i].second.empty()) t["onBehalfOf"] = routed[i].second;
      }
      transfers.push_back(std::move(t));
    }
    json::object body{{"status", outcome->duplicate ? "duplicate" : "received"},
                      {"message", message_id},
                      {"transfers", std::move(transfers)}};
    Response res = json_response(req, outcome->duplicate ? http::status::ok : http::status::accepted, body);
    if (outcome->transfers.size() == 1) res.set(http::field::location, "/v1/transfers/" + outcome->transfers[0].first);
    co_return res;
  }

  Response list_transfers(Request& req, const Identity& who, RequestAudit& note) {
    if (who.agency.empty()) return problem(req, Error::make("forbidden", "listing is per agency", "certificate"));
    const bool awaiting = query_param(req.target(), "awaiting") == "decision";
    const bool partners = query_param(req.target(), "on_behalf_of") == "me";
    const auto limit = std::min<std::uint64_t>(to_uint(query_param(req.target(), "limit"), 100), 1000);
    // on_behalf_of=me: the incidents partners are running for this agency under a buddy arrangement.
    auto list = partners ? hub.store().on_behalf_of(who.agency, limit) : hub.store().list_transfers(who.agency, awaiting, limit);
    if (!list) return problem(req, list.error());
    json::array a;
    note.record("list-transfers", "agency:" + who.agency);
    for (const auto& t : *list) {
      a.push_back(transfer_json(t));
      note.add_transfer(t.id);
    }
    note.detail["count"] = list->size();
    return json_response(req, http::status::ok, {{"transfers", std::move(a)}});
  }

  Response show_transfer(Request& req, const Identity& who, const std::string& id, RequestAudit& note) {
    auto t = hub.store().transfer(id);
    // Not yours looks the same as not there: no agency learns of others' transfers.
    if (!t || !Hub::may_read(who, *t)) return problem(req, Error::make("not-found", "no transfer " + id, "transfer"));
    auto history = hub.store().history(id);
    if (!history) return problem(req, history.error());
    json::object body = transfer_json(*t);
    body["history"] = history_json(*history);
    note.record("read-transfer", "transfer:" + id);
    note.add_transfer(id);
    note.detail["sender"] = t->sender;
    note.detail["receiver"] = t->receiver;
    return json_response(req, http::status::ok, body);
  }

  net::awaitable<Response> decide(Request& req, const Identity& who, const std::string& id, bool accept,
                                  bool regrade_only = false) {
    if (who.agency.empty()) co_return problem(req, Error::make("forbidden", "only the receiving agency decides", "certificate"));
    DecisionRequest d{who.agency, id, accept, "", who.name()};
    d.regrade_only = regrade_only;
    if (!req.body().empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(req.body(), ec);
      if (ec || !v.is_object()) {
        auto [line, column] = std::pair{1, 1};
        Error e = Error::make("bad-request", "body must be a JSON object: " + (ec ? ec.message() : std::string("not an object")));
        e.line = line;
        e.column = column;
        co_return problem(req, e);
      }
      const auto& o = v.as_object();
      if (auto* r = o.if_contains("reason"); r && r->is_string()) d.reason = std::string(r->as_string());
      if (auto* op = o.if_contains("operator"); op && op->is_string())
        d.actor = who.name() + "/" + std::string(op->as_string());
      if (auto* g = o.if_contains("grade"); g && g->is_string()) d.grade = std::string(g->as_string());
      if (auto* r = o.if_contains("rationale"); r && r->is_string()) d.rationale = std::string(r->as_string());
    }
    auto outcome = co_await await_result<DecisionOutcome>(
        [this, &d](auto done) { hub.decide(std::move(d), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::object body = transfer_json(outcome->transfer);
    body["unchanged"] = outcome->unchanged;
    co_return json_response(req, http::status::ok, body);
  }

  net::awaitable<Response> reroute(Request& req, const Identity& who, std::string id) {
    if (who.agency.empty()) co_return problem(req, Error::make("forbidden", "only the sending agency re-routes", "certificate"));
    auto body = parse_json_object(req.body());
    if (!body) co_return problem(req, body.error());
    auto* r = body->if_contains("receiver");
    if (!r || !r->is_string() || r->as_string().empty())
      co_return problem(req, Error::make("required", "name the new receiver (an agency id or responsible-police|fire|ambulance)",
                                         "receiver"));
    std::string receiver(r->as_string());
    auto outcome = co_await await_result<SubmitOutcome>(
        [this, &who, &id, &receiver](auto done) { hub.reroute(who, id, std::move(receiver), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::array transfers;
    for (const auto& [tid, to] : outcome->transfers) transfers.push_back({{"id", tid}, {"receiver", to}});
    co_return json_response(req, outcome->duplicate ? http::status::ok : http::status::accepted,
                            {{"status", outcome->duplicate ? "duplicate" : "received"}, {"transfers", std::move(transfers)}});
  }

  // /v1/buddy/...: arrangements, invocations, stand-down and reconciliation.
  net::awaitable<Response> buddy_api(Request& req, const Identity& who, const std::vector<std::string_view>& parts,
                                     RequestAudit& note) {
    const auto method = req.method();
    if (parts.size() == 2 && method == http::verb::get) {
      // The status board: arrangements, what is invoked now, and the hub's suggestions.
      json::array arrangements, active, suggestions;
      for (const auto& a : hub.board().arrangements()) arrangements.push_back(arrangement_json(a));
      for (const auto& inv : hub.board().active()) active.push_back(invocation_json(inv));
      for (const auto& sgn : hub.suggestions()) suggestions.push_back(suggestion_json(sgn));
      note.record("read-buddy-board", "buddy");
      co_return json_response(req, http::status::ok,
                              {{"arrangements", std::move(arrangements)},
                               {"active", std::move(active)},
                               {"suggestions", std::move(suggestions)}});
    }
    if (parts.size() == 3 && parts[2] == "invocations" && method == http::verb::get) {
      auto list = hub.store().invocations(query_param(req.target(), "active") == "true");
      if (!list) co_return problem(req, list.error());
      json::array a;
      for (const auto& inv : *list) a.push_back(invocation_json(inv));
      note.record("list-invocations", "buddy");
      co_return json_response(req, http::status::ok, {{"invocations", std::move(a)}});
    }
    if (parts.size() == 3 && parts[2] == "invocations" && method == http::verb::post) {
      auto request = parse_invocation_request(req.body());
      if (!request) co_return problem(req, request.error());
      buddy::InvocationRequest r = std::move(request).value();
      auto outcome = co_await await_result<buddy::Invocation>(
          [this, &who, &r](auto done) { hub.invoke(who, std::move(r), std::move(done)); });
      if (!outcome) co_return problem(req, outcome.error());
      Response res = json_response(req, http::status::created, invocation_json(*outcome));
      res.set(http::field::location, "/v1/buddy/invocations/" + outcome->id);
      co_return res;
    }
    if (parts.size() == 4 && parts[2] == "invocations" && method == http::verb::get) {
      auto report = hub.report(std::string(parts[3]));
      if (!report) co_return problem(req, report.error());
      const auto& inv = report->invocation;
      // The incidents themselves only for those involved; anyone may see that it is invoked.
      const bool involved = who.has_role(Role::administrator) || who.agency == inv.home || who.agency == inv.buddy ||
                            who.agency == inv.secondary;
      note.record("read-invocation", "invocation:" + inv.id);
      if (involved)
        for (const auto* list : {&report->received, &report->created, &report->returned})
          for (const auto& t : *list) note.add_transfer(t.id);
      co_return json_response(req, http::status::ok, report_json(*report, involved));
    }
    if (parts.size() == 5 && parts[2] == "invocations" && parts[4] == "stand-down" && method == http::verb::post) {
      auto body = parse_json_object(req.body().empty() ? std::string_view("{}") : std::string_view(req.body()));
      if (!body) co_return problem(req, body.error());
      std::string reason;
      if (auto* r = body->if_contains("reason"); r && r->is_string()) reason = std::string(r->as_string());
      std::string id(parts[3]);
      auto outcome = co_await await_result<StandDownOutcome>(
          [this, &who, &id, &reason](auto done) { hub.stand_down(who, id, std::move(reason), std::move(done)); });
      if (!outcome) co_return problem(req, outcome.error());
      json::array returned;
      for (const auto& [tid, to] : outcome->returned) returned.push_back({{"id", tid}, {"receiver", to}});
      json::object body_out = invocation_json(outcome->invocation);
      body_out["returned"] = std::move(returned);
      co_return json_response(req, http::status::ok, body_out);
    }
    co_return problem(req, Error::make("not-found", "no such buddy resource", "path"));
  }

  net::awaitable<Response> inbox(Request& req, const Identity& who, RequestAudit& note) {
    if (who.agency.empty()) co_return problem(req, Error::make("forbidden", "the inbox is per agency", "certificate"));
    const std::uint64_t after = to_uint(query_param(req.target(), "after"), 0);
    const auto limit = std::clamp<std::uint64_t>(to_uint(query_param(req.target(), "limit"), 100), 1, 1000);
    const auto wait_s = std::min<std::uint64_t>(to_uint(query_param(req.target(), "wait"), 0), 55);
    auto ex = co_await net::this_coro::executor;
    auto signal = std::make_shared<Signal>(ex);
    const auto handle = hub.dispatcher().subscribe(who.agency, notifier(signal, ex));
    const auto reload_waker = wake_on_reload(notifier(signal, ex));  // the session checks the certificate again
    auto deliveries = hub.dispatcher().pending_after(who.agency, after, limit);
    if (deliveries.empty() && wait_s > 0) {
      co_await signal->wait(std::chrono::seconds(wait_s));
      deliveries = hub.dispatcher().pending_after(who.agency, after, limit);
    }
    hub.dispatcher().unsubscribe(handle);
    json::array a, seqs;
    note.record("read-inbox", "agency:" + who.agency);
    for (const auto& d : deliveries) {
      a.push_back(delivery_json(d));
      seqs.push_back(d.seq);
      note.add_transfer(d.transfer_id);
    }
    note.detail["deliveries"] = std::move(seqs);
    co_return json_response(req, http::status::ok, {{"deliveries", std::move(a)}});
  }

  net::awaitable<Response> ack(Request& req, const Identity& who) {
    if (who.agency.empty()) co_return problem(req, Error::make("forbidden", "acknowledgements are per agency", "certificate"));
    auto seqs = parse_ack(req.body());
    if (!seqs) co_return problem(req, seqs.error());
    std::vector<std::uint64_t> to_ack = std::move(seqs).value();
    auto outcome = co_await await_result<AckOutcome>(
        [this, &who, &to_ack](auto done) { hub.acknowledge(who.agency, std::move(to_ack), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::array a;
    for (auto s : outcome->acknowledged) a.push_back(s);
    co_return json_response(req, http::status::ok, {{"acknowledged", std::move(a)}});
  }

  // Address look-ups for control-room consoles: match, uprn/{n}, nearest, who-covers.
  Response gazetteer_query(Request& req, const std::vector<std::string_view>& parts, RequestAudit& note) {
    Response res = gazetteer_answer(req, parts, note);
    if (note.action.empty()) note.record("gazetteer-" + std::string(parts[2]), "gazetteer");
    return res;
  }

  Response gazetteer_answer(Request& req, const std::vector<std::string_view>& parts, RequestAudit& note) {
    const std::optional<gazetteer::Gazetteer> gaz = hub.gazetteer();
    if (!gaz) return problem(req, 503, Error::make("unavailable", "no gazetteer is configured or it could not be opened"));
    const std::string_view what = parts[2];
    const std::string target(req.target());
    auto number = [&](const char* name) -> std::optional<double> {
      const std::string v = query_param(target, name);
      if (v.empty()) return std::nullopt;
      double d = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
      return d;
    };
    const auto k = std::clamp<std::uint64_t>(to_uint(query_param(target, "max"), 5), 1, 50);
    if (what == "match") {
      const std::string q = query_param(target, "q");
      if (q.empty()) return problem(req, Error::make("required", "give the address as q=...", "q"));
      json::array a;
      for (const auto& c : gaz->match(q, k)) a.push_back(gazetteer::candidate_json(c));
      note.detail["results"] = a.size();
      return json_response(req, http::status::ok, {{"query", q}, {"candidates", std::move(a)}});
    }
    if (what == "uprn" && parts.size() == 4) {
      const std::string id(parts[3]);
      const std::uint64_t uprn = to_uint(id, 0);
      auto address = uprn ? gaz->lookup(uprn) : std::nullopt;
      if (!address) return problem(req, Error::make("not-found", "no address with UPRN " + id, "uprn"));
      return json_response(req, http::status::ok, gazetteer::address_json(*address));
    }
    const auto lat = number("lat"), lon = number("lon");
    if (what == "nearest") {
      if (!lat || !lon) return problem(req, Error::make("required", "give lat= and lon= (WGS84 degrees)", "lat"));
      auto near = gaz->nearest(gazetteer::LatLon{*lat, *lon}, k, number("within").value_or(2000));
      if (!near) return problem(req, near.error());
      json::array a;
      for (const auto& n : *near) {
        json::object o = gazetteer::address_json(n.address);
        o["distance_m"] = n.distance_m;
        a.push_back(std::move(o));
      }
      return json_response(req, http::status::ok, {{"nearest", std::move(a)}});
    }
    if (what == "who-covers") {
      if (const std::string u = query_param(target, "uprn"); !u.empty()) {
        auto c = gaz->who_covers(to_uint(u, 0));
        if (!c) return problem(req, c.error());
        return json_response(req, http::status::ok, gazetteer::coverage_json(*c));
      }
      if (!lat || !lon) return problem(req, Error::make("required", "give uprn= or lat= and lon=", "uprn"));
      auto c = gaz->who_covers(gazetteer::LatLon{*lat, *lon});
      if (!c) return problem(req, c.error());
      return json_response(req, http::status::ok, gazetteer::coverage_json(*c));
    }
    return problem(req, Error::make("not-found", "no such gazetteer resource", "path"));
  }

  Response dead_letters(Request& req, const Identity& who, RequestAudit& note) {
    const bool admin = who.has_role(Role::administrator);
    if (!admin && who.agency.empty()) return problem(req, Error::make("forbidden", "not permitted", "certificate"));
    auto list = hub.store().dead_letters(admin ? query_param(req.target(), "agency") : who.agency);
    if (!list) return problem(req, list.error());
    json::array a, seqs;
    note.record("list-dead-letters", admin ? std::string("hub") : "agency:" + who.agency);
    for (const auto& d : *list) {
      json::object o = delivery_json(d);
      o.erase("body");  // the listing is for supervisors; the content stays with the transfer
      o["lastError"] = d.last_error;
      a.push_back(std::move(o));
      seqs.push_back(d.seq);
      note.add_transfer(d.transfer_id);
    }
    note.detail["deliveries"] = std::move(seqs);
    return json_response(req, http::status::ok, {{"deadLetters", std::move(a)}});
  }

  // ---------------------------------------------------------------- audit administration

  // Erases a transfer's personal data; the skeleton and the audit trail stay.
  net::awaitable<Response> erase(Request& req, const Identity& who, const std::string& id) {
    EraseRequest request{id, who.name(), ""};
    boost::system::error_code ec;
    json::value v = req.body().empty() ? json::value(json::object()) : json::parse(req.body(), ec);
    if (ec || !v.is_object())
      co_return problem(req, Error::make("bad-request", "body must be a JSON object {\"reason\": ...}", "body"));
    if (const auto* r = v.as_object().if_contains("reason"); r && r->is_string()) request.reason = std::string(r->as_string());
    auto outcome = co_await await_result<EraseOutcome>(
        [this, &request](auto done) { hub.erase(std::move(request), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::object body = transfer_json(outcome->transfer);
    body["erased"] = json::object{{"messageBodies", outcome->messages},
                                  {"deliveryPayloads", outcome->deliveries},
                                  {"eventDetails", outcome->events},
                                  {"audit", outcome->audit.seq}};
    co_return json_response(req, http::status::ok, body);
  }

  // Checks the chain in the store file (read-only, its own snapshot). `head=N:H,...`
  // adds anchors from earlier event=audit-head lines, so truncation shows too.
  Response verify_audit(Request& req, RequestAudit& note) {
    std::vector<AuditAnchor> anchors;
    std::string heads = query_param(req.target(), "head");
    for (std::size_t start = 0; !heads.empty() && start <= heads.size();) {
      const std::size_t comma = std::min(heads.find(',', start), heads.size());
      auto anchor = parse_audit_anchor(std::string_view(heads).substr(start, comma - start));
      if (!anchor) return problem(req, anchor.error());
      anchors.push_back(*anchor);
      start = comma + 1;
    }
    auto report = verify_audit_file(hub.config().store_path, anchors);
    if (!report) return problem(req, report.error());
    note.record("audit-verify", "audit");
    note.category = AuditCategory::administration;
    note.detail["ok"] = report->ok();
    note.detail["entries"] = report->entries;
    note.detail["head"] = std::to_string(report->last_seq) + ":" + report->head_hash;
    if (!report->ok()) spdlog::error("event=alert kind=audit-chain-broken first_seq={} problem=\"{}\"",
                                     report->problems.front().seq, report->problems.front().message);
    return json_response(req, http::status::ok, json::parse(report->json()));
  }

  // GET /v1/admin/audit?subject=S&after=SEQ&limit=N: entries, oldest first.
  Response read_audit(Request& req, RequestAudit& note) {
    const std::string target(req.target());
    const std::string subject = query_param(target, "subject");
    const auto after = static_cast<std::int64_t>(to_uint(query_param(target, "after"), 0));
    const auto limit = static_cast<std::int64_t>(std::clamp<std::uint64_t>(to_uint(query_param(target, "limit"), 1000), 1, 10000));
    auto entries = read_audit_file(hub.config().store_path, subject, after, limit);
    if (!entries) return problem(req, entries.error());
    json::array a;
    for (const auto& e : *entries) a.push_back(json::parse(audit_record_json(e)));
    note.record("read-audit", "audit");
    note.category = AuditCategory::administration;
    note.detail["subject"] = subject;
    note.detail["count"] = entries->size();
    return json_response(req, http::status::ok, {{"entries", std::move(a)}});
  }

  net::awaitable<Response> retry_dead_letter(Request& req, const Identity& who, const std::string& seq_text) {
    if (!who.has_role(Role::administrator))
      co_return problem(req, Error::make("forbidden", "only an administrator may requeue", "certificate"));
    const std::uint64_t seq = to_uint(seq_text, 0);
    std::string actor = who.name();
    auto outcome =
        co_await await_result<Delivery>([this, &seq, &actor](auto done) { hub.requeue(seq, std::move(actor), std::move(done)); });
    if (!outcome) co_return problem(req, outcome.error());
    json::object o = delivery_json(*outcome);
    o.erase("body");
    co_return json_response(req, http::status::ok, o);
  }

  // ---------------------------------------------------------------- WebSocket stream

  // Sends the agency's pending deliveries in order, then new ones as they commit, with at
  // most `stream_window` unacknowledged; the client acknowledges with {"ack":[seq,...]}.
  // `?batch=N` (2..512): each frame is a JSON array of up to N deliveries, as many as are
  // waiting. Under load this keeps the stream up with the submits: every frame written is
  // one trip through the I/O threads' queue, behind every connection's handlers.
  net::awaitable<void> stream_session(TlsStream stream, Request req, Identity who, std::uint64_t trusted_under,
                                      std::uint64_t identified_under) {
    const std::size_t per_frame = std::clamp<std::uint64_t>(to_uint(query_param(req.target(), "batch"), 1), 1, 512);
    const bool arrays = per_frame > 1;
    auto self = shared_from_this();
    auto ex = co_await net::this_coro::executor;
    auto ws = std::make_shared<websocket::stream<TlsStream>>(std::move(stream));
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws->read_message_max(1 << 20);
    auto [accept_ec] = co_await ws->async_accept(req, nothrow);
    if (accept_ec) co_return;
    spdlog::info("event=stream-opened agency={}", who.agency);
    // Frames a client acknowledges are audited as disclosures; stream-closed lists the rest.
    hub.audit(AuditEntry{who.name(), "stream-opened", AuditCategory::consultation, "agency:" + who.agency, "{}", ""});

    auto signal = std::make_shared<Signal>(ex);
    const auto handle = hub.dispatcher().subscribe(who.agency, notifier(signal, ex));
    const auto reload_waker = wake_on_reload(notifier(signal, ex));
    auto in_flight = std::make_shared<std::set<std::uint64_t>>();
    auto closed = std::make_shared<bool>(false);

    // Reader: acknowledgements. Runs beside the writer on the same strand.
    net::co_spawn(ex, stream_reader(ws, signal, in_flight, closed, who.agency), net::detached);

    const std::size_t window = hub.config().delivery.stream_window;
    std::uint64_t sent = 0;
    std::string ended_because;  // empty: the client or the hub's stop ended it
    while (!*closed && !stopped) {
      if (auto untrusted = still_trusted(ws->next_layer().native_handle(), trusted_under, &who, {}); !untrusted.empty()) {
        ended_because = "certificate no longer trusted: " + untrusted;
        break;
      }
      ended_because = stream_still_allowed(ws->next_layer().native_handle(), identified_under, who);
      if (!ended_because.empty()) break;
      const std::size_t room = window > in_flight->size() ? window - in_flight->size() : 0;
      // Everything pending that is not already in flight: a priority-lane delivery committed
      // after routine ones still goes out first.
      auto batch = room ? hub.dispatcher().pending_except(who.agency, *in_flight, room) : std::vector<Delivery>{};
      if (batch.empty()) {
        co_await signal->wait(std::chrono::seconds(30));
        continue;
      }
      bool failed = false;
      for (std::size_t at = 0; at < batch.size() && !failed; at += per_frame) {
        const std::size_t end = std::min(batch.size(), at + per_frame);
        std::string frame;
        if (arrays) {
          json::array deliveries;
          for (std::size_t i = at; i < end; ++i) deliveries.push_back(delivery_json(batch[i]));
          frame = json::serialize(deliveries);
        } else {
          frame = json::serialize(delivery_json(batch[at]));
        }
        ws->text(true);
        auto [ec, n] = co_await ws->async_write(net::buffer(frame), nothrow);
        if (ec) {
          failed = true;
          break;
        }
        for (std::size_t i = at; i < end; ++i) in_flight->insert(batch[i].seq);
        sent += end - at;
      }
      if (failed) break;
    }
    hub.dispatcher().unsubscribe(handle);
    hub.seen(who.agency, now_ms());  // link-down time counts from here
    spdlog::info("event=stream-closed agency={} unacknowledged={}{}", who.agency, in_flight->size(),
                 ended_because.empty() ? "" : " reason=\"" + ended_because + "\"");
    {
      json::array unacknowledged;
      for (auto seq : *in_flight) unacknowledged.push_back(seq);
      hub.audit(AuditEntry{who.name(), "stream-closed", AuditCategory::consultation, "agency:" + who.agency,
                           json::serialize(json::object{{"sent", sent}, {"sentUnacknowledged", std::move(unacknowledged)}}),
                           ended_because});
    }
    if (!*closed) {
      // A close reason is at most 123 bytes.
      const websocket::close_reason why =
          ended_because.empty() ? websocket::close_reason(websocket::close_code::going_away)
                                : websocket::close_reason(websocket::close_code::policy_error, ended_because.substr(0, 120));
      co_await ws->async_close(why, nothrow);
    }
  }

  // Acknowledgements a stream's client sent that are not yet committed.
  struct PendingAcks {
    explicit PendingAcks(net::any_io_executor ex) : ready(std::move(ex)) {}
    std::vector<std::uint64_t> seqs;
    Signal ready;
    bool reading = true;  // the client may still send some
  };

  // Reads the client's acknowledgements; ack_committer commits them. Frames that arrive
  // while a commit is under way go into the next one together: one commit per frame, each
  // waiting its turn in a group commit, let a busy stream fall behind its submits (5,000 /s
  // offered from 128 senders: receipt p50 1.8 s, the window full of frames awaiting
  // acknowledgement).
  net::awaitable<void> stream_reader(std::shared_ptr<websocket::stream<TlsStream>> ws, std::shared_ptr<Signal> signal,
                                     std::shared_ptr<std::set<std::uint64_t>> in_flight, std::shared_ptr<bool> closed,
                                     std::string agency) {
    auto self = shared_from_this();
    auto acks = std::make_shared<PendingAcks>(co_await net::this_coro::executor);
    net::co_spawn(co_await net::this_coro::executor, ack_committer(acks, signal, in_flight, closed, std::move(agency)),
                  net::detached);
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws->async_read(buf, nothrow);
      if (ec) break;
      auto seqs = parse_ack(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      if (!seqs) continue;
      acks->seqs.insert(acks->seqs.end(), seqs->begin(), seqs->end());
      acks->ready.raise();
    }
    acks->reading = false;
    acks->ready.raise();
  }

  // The stream is closed only once every acknowledgement its client sent is committed.
  net::awaitable<void> ack_committer(std::shared_ptr<PendingAcks> acks, std::shared_ptr<Signal> signal,
                                     std::shared_ptr<std::set<std::uint64_t>> in_flight, std::shared_ptr<bool> closed,
                                     std::string agency) {
    auto self = shared_from_this();
    for (;;) {
      if (acks->seqs.empty()) {
        if (!acks->reading) break;
        co_await acks->ready.wait(std::chrono::seconds(30));
        continue;
      }
      const std::vector<std::uint64_t> committing = std::exchange(acks->seqs, {});
      auto outcome = co_await await_result<AckOutcome>(
          [this, &agency, &committing](auto done) { hub.acknowledge(agency, committing, std::move(done)); });
      for (auto s : committing) in_flight->erase(s);
      signal->raise();
    }
    *closed = true;
    signal->raise();
  }

  // ---------------------------------------------------------------- push delivery

  // Delivers one agency's queue, in order, to its HTTPS endpoint over mutual TLS. A 2xx
  // answer is the transport acknowledgement; anything else is retried with backoff.
  // Starts a pusher for each push agency that has none: at start and after a configuration
  // reload. A pusher reads its agency from the configuration in effect before each
  // delivery, and ends when the agency is gone or no longer push.
  void start_pushers() {
    std::vector<std::string> start;
    {
      std::lock_guard lock(background_mutex);
      for (const auto& agency : hub.config().agencies)
        if (agency.delivery == DeliveryMode::push && pushing.insert(agency.id).second) start.push_back(agency.id);
    }
    for (auto& id : start) net::co_spawn(net::make_strand(io), push(std::move(id)), net::detached);
  }

  net::awaitable<void> push(std::string agency_id) {
    auto self = shared_from_this();
    auto ex = co_await net::this_coro::executor;
    auto signal = std::make_shared<Signal>(ex);
    {
      std::lock_guard lock(background_mutex);
      background.push_back(signal);
    }
    const auto handle = hub.dispatcher().subscribe(agency_id, notifier(signal, ex));
    const auto reload_waker = wake_on_reload(notifier(signal, ex));  // a reload may change or end this agency's push
    std::string endpoint;  // the one `url` and `conn` are for
    HttpsUrl url;
    std::mt19937_64 rng(std::random_device{}());
    int attempt = 0;
    std::shared_ptr<TlsContexts> dialled_with;  // declared before conn: outlives it
    std::unique_ptr<TlsStream> conn;
    beast::flat_buffer buffer;
    std::string ended_because = "the hub stops";

    while (!stopped) {
      const Agency* agency = hub.config().find_agency(agency_id);
      if (agency == nullptr || agency->delivery != DeliveryMode::push) {
        ended_because = agency ? "no longer delivered by push" : "agency removed from the configuration";
        break;
      }
      if (agency->endpoint != endpoint) {
        if (!endpoint.empty())
          spdlog::info("event=push-endpoint-changed agency={} from={} to={}", agency_id, endpoint, agency->endpoint);
        endpoint = agency->endpoint;
        url = parse_https_url(endpoint);
        conn.reset();
      }
      auto next = hub.dispatcher().pending_after(agency_id, 0, 1);
      if (next.empty()) {
        co_await signal->wait(std::chrono::seconds(30));
        continue;
      }
      const Delivery& d = next.front();
      std::string error;
      if (conn && dialled_with->generation != tls_generation.load()) conn.reset();  // dial again with the reloaded files
      if (!conn) {
        tcp::resolver resolver(ex);
        auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, nothrow);
        if (rec) {
          error = "resolve " + url.host + ": " + rec.message();
        } else {
          dialled_with = current_tls();
          conn = std::make_unique<TlsStream>(ex, dialled_with->client);
          SSL_set_tlsext_host_name(conn->native_handle(), url.host.c_str());
          conn->set_verify_callback(ssl::host_name_verification(url.host));
          beast::get_lowest_layer(*conn).expires_after(std::chrono::seconds(10));
          auto [cec, ep] = co_await beast::get_lowest_layer(*conn).async_connect(endpoints, nothrow);
          if (!cec) {
            boost::system::error_code no_delay_ec;
            beast::get_lowest_layer(*conn).socket().set_option(tcp::no_delay(true), no_delay_ec);
            auto [hec] = co_await conn->async_handshake(ssl::stream_base::client, nothrow);
            if (hec) error = "TLS handshake: " + hec.message();
          } else {
            error = "connect: " + cec.message();
          }
          if (!error.empty()) conn.reset();
        }
      }
      if (conn) {
        Request r{http::verb::post, url.target, 11};
        r.set(http::field::host, url.host);
        r.set(http::field::content_type, d.content_type);
        r.set("X-DEIT-Delivery", std::to_string(d.seq));
        r.set("X-DEIT-Transfer-Id", d.transfer_id);
        r.set("X-DEIT-Message-Id", d.message_id);
        r.set("X-DEIT-Kind", d.kind);
        r.keep_alive(true);
        r.body() = *d.payload;
        r.prepare_payload();
        beast::get_lowest_layer(*conn).expires_after(std::chrono::seconds(15));
        auto [wec, wn] = co_await http::async_write(*conn, r, nothrow);
        Response res;
        if (!wec) {
          auto [rec2, rn] = co_await http::async_read(*conn, buffer, res, nothrow);
          if (rec2) error = "read: " + rec2.message();
        } else {
          error = "write: " + wec.message();
        }
        if (error.empty() && res.result_int() / 100 == 2) {
          const std::uint64_t seq = d.seq;
          auto outcome = co_await await_result<AckOutcome>(
              [this, &agency_id, &seq](auto done) { hub.acknowledge(agency_id, {seq}, std::move(done)); });
          if (outcome) {
            spdlog::info("event=delivered transfer={} message={} agency={} delivery={} via=push", d.transfer_id,
                         d.message_id, agency_id, d.seq);
            attempt = 0;
            if (!res.keep_alive()) conn.reset();
            continue;
          }
          error = "store: " + outcome.error().message;
        } else if (error.empty()) {
          error = "HTTP " + std::to_string(res.result_int());
        }
        if (!error.empty()) conn.reset();
      }
      const auto delay = retry_delay(attempt++, hub.config().delivery.retry_initial, hub.config().delivery.retry_max, rng);
      spdlog::warn("event=push-failed transfer={} agency={} delivery={} attempt={} retry_in_ms={} error=\"{}\"",
                   d.transfer_id, agency_id, d.seq, attempt, delay.count(), error);
      hub.store().record_attempt(d.seq, error);
      net::steady_timer wait(ex);
      wait.expires_after(delay);
      co_await wait.async_wait(nothrow);
    }
    hub.dispatcher().unsubscribe(handle);
    spdlog::info("event=pusher-stopped agency={} reason=\"{}\"", agency_id, ended_because);
    {
      std::lock_guard lock(background_mutex);
      pushing.erase(agency_id);
      std::erase(background, signal);
    }
    if (!stopped) start_pushers();  // a reload may have made it push again as this one ended
  }

  // ---------------------------------------------------------------- sweeper

  // What the allocator may keep free after a burst, for the next one; the rest goes back to
  // the kernel once a second (hub/memory.hpp).
  static constexpr std::size_t kFreeMemoryKept = std::size_t{32} << 20;

  net::awaitable<void> sweep() {
    auto self = shared_from_this();
    auto ex = co_await net::this_coro::executor;
    auto signal = std::make_shared<Signal>(ex);
    {
      std::lock_guard lock(background_mutex);
      background.push_back(signal);
    }
    // Acceptance deadlines are swept eight times a second, a few transfers each time
    // (Hub::sweep_deadlines): a receiver that takes nothing sends dozens overdue a second,
    // and all of them at once made every sender's commit wait (paced p99 +5 ms). The
    // other sweeps run once a second.
    auto next_second = std::chrono::steady_clock::now();
    auto next_head_log = next_second + std::chrono::seconds(60);
    auto next_expiry_check = next_second + std::chrono::hours(1);  // the first was at start
    while (!stopped) {
      const std::int64_t now = now_ms();
      const auto clock = std::chrono::steady_clock::now();
      if (clock >= next_second) {
        hub.sweep_dead_letters(now);
        hub.sweep_retention(now);
        hub.check_links(now);
        release_free_memory(kFreeMemoryKept);
        next_second = clock + std::chrono::seconds(1);
      }
      hub.sweep_deadlines(now);
      if (clock >= next_head_log) {
        hub.log_audit_head();  // anchors against truncation of the audit log
        next_head_log = clock + std::chrono::seconds(60);
      }
      if (clock >= next_expiry_check) {
        alert_on_expiry(*current_tls(), hub.config().tls, now);
        next_expiry_check = clock + std::chrono::hours(1);
      }
      co_await signal->wait(std::chrono::milliseconds(125));
    }
  }
};

// =======================================================================================

Server::Server(Hub& hub, net::io_context& io, net::thread_pool* work) : impl_(std::make_shared<Impl>(hub, io, work)) {}
Server::~Server() { stop(); }

Status Server::start() {
  const Config& c = impl_->hub.config();
  auto tls = std::make_shared<TlsContexts>();
  if (auto s = load_tls(tls->server, c.tls, true); !s) return s;
  if (auto s = load_tls(tls->client, c.tls, false); !s) return s;
  read_expiries(*tls);
  alert_on_expiry(*tls, c.tls, now_ms());
  impl_->tls = std::move(tls);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(c.listen_address, ec);
  if (ec) return Error::make("config", "'" + c.listen_address + "' is not an IP address", "listen");
  tcp::endpoint endpoint(address, c.listen_port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error::make("listen", "cannot listen on " + c.listen_address + ":" + std::to_string(c.listen_port) + ": " + ec.message(), "listen");
  net::co_spawn(net::make_strand(impl_->io), impl_->listen(), net::detached);
  net::co_spawn(net::make_strand(impl_->io), impl_->sweep(), net::detached);
  impl_->start_pushers();
  spdlog::info("event=listening address={} port={} agencies={}", c.listen_address, port(), c.agencies.size());
  return Status::success();
}

Status Server::reload_tls(const std::string& actor) { return impl_->reload_tls(actor); }
Result<Hub::ConfigReload> Server::reload_config(const std::string& actor) { return impl_->reload_config(actor); }

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  std::lock_guard lock(impl_->background_mutex);
  for (auto& s : impl_->background) {
    net::post(s->timer.get_executor(), [s] { s->raise(); });
  }
}

}  // namespace deit::hub
