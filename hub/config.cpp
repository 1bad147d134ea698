#include "hub/config.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "hub/identity.hpp"
#include "hub/links/link_config.hpp"
#include "schemas/xml.hpp"

namespace deit::hub {

namespace json = boost::json;
extern const std::string_view default_config_json;  // embedded hub/defaults/default-config.json

std::string_view to_string(Role r) {
  switch (r) {
    case Role::operator_role: return "operator";
    case Role::business_continuity: return "business-continuity";
    case Role::administrator: return "administrator";
  }
  return "?";
}

std::optional<std::chrono::seconds> AcceptanceConfig::deadline(std::string_view grade, bool emergency) const {
  std::optional<std::chrono::seconds> best;
  auto consider = [&](std::string_view key) {
    auto it = by_grade.find(key);
    if (it != by_grade.end() && (!best || it->second < *best)) best = it->second;
  };
  if (!grade.empty()) consider(grade);
  if (emergency) consider("emergency");  // the stricter of the two
  if (!best) best = otherwise;
  return best;
}

const Agency* Config::find_agency(std::string_view id) const {
  for (const auto& a : agencies)
    if (a.id == id) return &a;
  return nullptr;
}

namespace {

// Walks a JSON object whose allowed keys are known up front, so an unknown key (usually a
// typo) is reported by name before a missing required key would be.
class Reader {
 public:
  Reader(const json::object& object, std::string path, std::initializer_list<std::string_view> allowed)
      : object_(object), path_(std::move(path)), allowed_(allowed) {}

  std::string at(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

  const json::value* get(std::string_view key) {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &it->value();
  }

  Status string(std::string_view key, std::string& out, bool required = false) {
    const json::value* v = get(key);
    if (!v) return required ? Error::make("config", "is required", at(key)) : Status::success();
    if (!v->is_string()) return Error::make("config", "must be a string", at(key));
    out = std::string(v->as_string());
    return Status::success();
  }

  template <typename Int>
  Status integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const json::value* v = get(key);
    if (!v) return Status::success();
    if (!v->is_int64() && !v->is_uint64()) return Error::make("config", "must be a whole number", at(key));
    const std::int64_t n = v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(v->as_uint64());
    if (n < min || n > max)
      return Error::make("config", "must be between " + std::to_string(min) + " and " + std::to_string(max), at(key));
    out = static_cast<Int>(n);
    return Status::success();
  }

  Status boolean(std::string_view key, bool& out) {
    const json::value* v = get(key);
    if (!v) return Status::success();
    if (!v->is_bool()) return Error::make("config", "must be true or false", at(key));
    out = v->as_bool();
    return Status::success();
  }

  Status check_keys() const {
    for (const auto& kv : object_)
      if (std::find(allowed_.begin(), allowed_.end(), kv.key()) == allowed_.end())
        return Error::make("config", "unknown setting", at(kv.key()));
    return Status::success();
  }

 private:
  const json::object& object_;
  std::string path_;
  std::vector<std::string_view> allowed_;
};

#define DEIT_CHECK(expr)        \
  do {                          \
    Status s_ = (expr);         \
    if (!s_) return s_.error(); \
  } while (0)

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

Result<Role> parse_role(std::string_view s, const std::string& field) {
  if (s == "operator") return Role::operator_role;
  if (s == "business-continuity") return Role::business_continuity;
  if (s == "administrator") return Role::administrator;
  return Error::make("config", "'" + std::string(s) + "' is not one of operator, business-continuity, administrator",
                     field);
}

Result<CertificateMatch> parse_certificate(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Error::make("config", "must be an object", path);
  Reader r(v.as_object(), path, {"subject_cn", "sha256", "san", "roles"});
  DEIT_CHECK(r.check_keys());
  CertificateMatch m;
  DEIT_CHECK(r.string("subject_cn", m.subject_cn));
  DEIT_CHECK(r.string("sha256", m.sha256));
  std::string hex;
  for (char c : m.sha256) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return Error::make("config", "must be hexadecimal (colons allowed)", r.at("sha256"));
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (!hex.empty() && hex.size() != 64) return Error::make("config", "must be 32 bytes (64 hex digits)", r.at("sha256"));
  m.sha256 = hex;
  DEIT_CHECK(r.string("san", m.san));
  if (!m.san.empty()) {
    auto san = normalise_san(m.san, r.at("san"));
    if (!san) return san.error();
    m.san = std::move(san).value();
  }
  if (m.subject_cn.empty() && m.sha256.empty() && m.san.empty())
    return Error::make("config", "needs subject_cn, san or sha256", path);
  if (const json::value* roles = r.get("roles")) {
    if (!roles->is_array()) return Error::make("config", "must be an array", r.at("roles"));
    m.roles.clear();
    for (std::size_t i = 0; i < roles->as_array().size(); ++i) {
      const auto& rv = roles->as_array()[i];
      const std::string field = r.at("roles") + "[" + std::to_string(i) + "]";
      if (!rv.is_string()) return Error::make("config", "must be a string", field);
      auto role = parse_role(rv.as_string(), field);
      if (!role) return role.error();
      m.roles.push_back(*role);
    }
  }
  return m;
}

Result<Agency> parse_agency(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Error::make("config", "must be an object", path);
  Reader r(v.as_object(), path, {"id", "name", "kind", "format", "delivery", "certificates", "link_keys"});
  DEIT_CHECK(r.check_keys());
  Agency a;
  DEIT_CHECK(r.string("id", a.id, true));
  if (a.id.empty() || a.id.size() > 64 ||
      !std::all_of(a.id.begin(), a.id.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }) ||
      a.id.front() == '-')
    return Error::make("config", "'" + a.id + "' must be 1-64 characters of a-z, 0-9 and '-'", r.at("id"));
  if (a.id.starts_with("responsible-"))
    return Error::make("config", "ids starting 'responsible-' are reserved for routing by location", r.at("id"));
  DEIT_CHECK(r.string("name", a.name));
  if (a.name.empty()) a.name = a.id;
  std::string kind;
  DEIT_CHECK(r.string("kind", kind, true));
  auto k = model::parse_agency_kind(kind);
  if (!k) return Error::make("config", "'" + kind + "' is not one of police, fire, ambulance", r.at("kind"));
  a.kind = *k;
  DEIT_CHECK(r.string("format", a.format));
  if (const json::value* d = r.get("delivery")) {
    if (!d->is_object()) return Error::make("config", "must be an object", r.at("delivery"));
    Reader dr(d->as_object(), r.at("delivery"), {"mode", "endpoint", "server_key"});
    DEIT_CHECK(dr.check_keys());
    std::string mode = "pull";
    DEIT_CHECK(dr.string("mode", mode));
    if (mode == "pull") {
      a.delivery = DeliveryMode::pull;
    } else if (mode == "push") {
      a.delivery = DeliveryMode::push;
    } else if (mode == "link") {
      a.delivery = DeliveryMode::link;
    } else {
      return Error::make("config", "'" + mode + "' is not one of pull, push, link", dr.at("mode"));
    }
    DEIT_CHECK(dr.string("endpoint", a.endpoint));
    DEIT_CHECK(dr.string("server_key", a.server_key));
    DEIT_CHECK(links::check_link_delivery(a, r.at("delivery")));
    if (a.delivery == DeliveryMode::push && a.endpoint.rfind("https://", 0) != 0)
      return Error::make("config", "push delivery needs an https:// endpoint", dr.at("endpoint"));
  }
  if (const json::value* certs = r.get("certificates")) {
    if (!certs->is_array()) return Error::make("config", "must be an array", r.at("certificates"));
    for (std::size_t i = 0; i < certs->as_array().size(); ++i) {
      auto m = parse_certificate(certs->as_array()[i], r.at("certificates") + "[" + std::to_string(i) + "]");
      if (!m) return m.error();
      a.certificates.push_back(std::move(m).value());
    }
  }
  if (const json::value* keys = r.get("link_keys")) DEIT_CHECK(links::parse_link_keys(*keys, r.at("link_keys"), a.link_keys));
  if (a.certificates.empty()) a.certificates.push_back(CertificateMatch{a.id, "", "", {Role::operator_role}, true});
  return a;
}

Status parse_string_list(Reader& r, std::string_view key, std::vector<std::string>& out) {
  const json::value* v = r.get(key);
  if (!v) return Status::success();
  if (!v->is_array()) return Error::make("config", "must be an array of strings", r.at(key));
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const auto& e = v->as_array()[i];
    if (!e.is_string()) return Error::make("config", "must be a string", r.at(key) + "[" + std::to_string(i) + "]");
    out.emplace_back(e.as_string());
  }
  return Status::success();
}

Status parse_acceptance(const json::value& v, AcceptanceConfig& out) {
  if (!v.is_object()) return Error::make("config", "must be an object of grade: seconds", "acceptance");
  for (const auto& kv : v.as_object()) {
    const std::string field = "acceptance." + std::string(kv.key());
    if (!kv.value().is_int64() || kv.value().as_int64() < 1 || kv.value().as_int64() > 7 * 86'400)
      return Error::make("config", "must be a whole number of seconds from 1 to 604800", field);
    const std::chrono::seconds s(kv.value().as_int64());
    if (kv.key() == "default") {
      out.otherwise = s;
    } else {
      out.by_grade.emplace(std::string(kv.key()), s);
    }
  }
  return Status::success();
}

Result<buddy::Arrangement> parse_arrangement(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Error::make("config", "must be an object", path);
  Reader r(v.as_object(), path,
           {"home", "primary", "secondary", "calls", "incidents", "types", "mode", "may_invoke", "fallback_on_deadline",
            "auto_invoke", "suggest_after_link_down_s", "suggest_after_unaccepted_s"});
  DEIT_CHECK(r.check_keys());
  buddy::Arrangement a;
  DEIT_CHECK(r.string("home", a.home, true));
  DEIT_CHECK(r.string("primary", a.primary, true));
  DEIT_CHECK(r.string("secondary", a.secondary));
  std::string word;
  DEIT_CHECK(r.string("calls", word));
  if (!word.empty()) {
    auto calls = buddy::parse_call_scope(word);
    if (!calls) return Error::make("config", "'" + word + "' is not one of overflow, all-calls", r.at("calls"));
    a.scope.calls = *calls;
  }
  word.clear();
  DEIT_CHECK(r.string("incidents", word));
  if (!word.empty()) {
    auto incidents = buddy::parse_incident_scope(word);
    if (!incidents)
      return Error::make("config", "'" + word + "' is not one of all, emergency-only, listed-types", r.at("incidents"));
    a.scope.incidents = *incidents;
  }
  DEIT_CHECK(parse_string_list(r, "types", a.scope.types));
  word.clear();
  DEIT_CHECK(r.string("mode", word));
  if (!word.empty()) {
    auto mode = buddy::parse_mode(word);
    if (!mode) return Error::make("config", "'" + word + "' is not one of dispatch-on-behalf, pass-back", r.at("mode"));
    a.mode = *mode;
  }
  DEIT_CHECK(parse_string_list(r, "may_invoke", a.may_invoke));
  DEIT_CHECK(r.boolean("fallback_on_deadline", a.fallback_on_deadline));
  DEIT_CHECK(r.boolean("auto_invoke", a.auto_invoke));
  std::int64_t link = a.suggest_after_link_down.count(), queue = a.suggest_after_unaccepted.count();
  DEIT_CHECK(r.integer("suggest_after_link_down_s", link, 1, 86'400));
  DEIT_CHECK(r.integer("suggest_after_unaccepted_s", queue, 1, 86'400));
  a.suggest_after_link_down = std::chrono::seconds(link);
  a.suggest_after_unaccepted = std::chrono::seconds(queue);
  return a;
}

Status parse_listen(const std::string& text, Config& c) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return Error::make("config", "must be host:port", "listen");
  c.listen_address = text.substr(0, colon);
  if (c.listen_address.size() > 2 && c.listen_address.front() == '[') c.listen_address = c.listen_address.substr(1, c.listen_address.size() - 2);
  unsigned port = 0;
  const std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535)
    return Error::make("config", "'" + p + "' is not a port number", "listen");
  c.listen_port = static_cast<std::uint16_t>(port);
  return Status::success();
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& base_dir) {
  json::error_code ec;
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  json::stream_parser p({}, opts);
  std::size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    auto [line, column] = xml::line_column_at(text, consumed);
    Error e = Error::make("config-syntax", ec.message());
    e.line = line;
    e.column = column;
    return e;
  }
  json::value root = p.release();
  if (!root.is_object()) return Error::make("config", "the configuration must be a JSON object", "/");

  Config c;
  Reader r(root.as_object(), "", {"listen", "store", "log_file", "log_level", "io_threads", "retention_days", "commit_interval_ms", "tls", "delivery",
                                  "limits", "gazetteer", "mappings_dir", "agencies", "administrators",
                                  "acceptance", "buddy", "sharing_rules", "links"});
  DEIT_CHECK(r.check_keys());
  std::string listen = "127.0.0.1:8443";
  DEIT_CHECK(r.string("listen", listen));
  DEIT_CHECK(parse_listen(listen, c));
  DEIT_CHECK(r.string("store", c.store_path));
  DEIT_CHECK(r.string("log_file", c.log_file));
  DEIT_CHECK(r.string("log_level", c.log_level));
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.count(c.log_level)) return Error::make("config", "'" + c.log_level + "' is not a log level", "log_level");
  DEIT_CHECK(r.integer("io_threads", c.io_threads, 1, 64));
  DEIT_CHECK(r.integer("retention_days", c.retention_days, 0, 36'500));
  DEIT_CHECK(r.integer("commit_interval_ms", c.commit_interval_ms, 0, 100));
  DEIT_CHECK(r.string("mappings_dir", c.mappings_dir));

  if (const json::value* t = r.get("tls")) {
    if (!t->is_object()) return Error::make("config", "must be an object", "tls");
    Reader tr(t->as_object(), "tls", {"ca", "cert", "key", "crl", "generate_dev_certs"});
    DEIT_CHECK(tr.check_keys());
    DEIT_CHECK(tr.string("ca", c.tls.ca_file, true));
    DEIT_CHECK(tr.string("cert", c.tls.cert_file, true));
    DEIT_CHECK(tr.string("key", c.tls.key_file, true));
    DEIT_CHECK(tr.string("crl", c.tls.crl_file));
    DEIT_CHECK(tr.boolean("generate_dev_certs", c.tls.generate_dev_certs));
  } else {
    return Error::make("config", "is required", "tls");
  }
  if (const json::value* d = r.get("delivery")) {
    if (!d->is_object()) return Error::make("config", "must be an object", "delivery");
    Reader dr(d->as_object(), "delivery",
              {"retry_initial_ms", "retry_max_ms", "dead_letter_after_s", "stream_window"});
    DEIT_CHECK(dr.check_keys());
    std::int64_t initial = c.delivery.retry_initial.count(), max = c.delivery.retry_max.count(),
                 dead = c.delivery.dead_letter_after.count(), window = static_cast<std::int64_t>(c.delivery.stream_window);
    DEIT_CHECK(dr.integer("retry_initial_ms", initial, 10, 3'600'000));
    DEIT_CHECK(dr.integer("retry_max_ms", max, 10, 86'400'000));
    DEIT_CHECK(dr.integer("dead_letter_after_s", dead, 1, 7 * 86'400));
    DEIT_CHECK(dr.integer("stream_window", window, 1, 100'000));
    if (max < initial) return Error::make("config", "must not be less than retry_initial_ms", "delivery.retry_max_ms");
    c.delivery.retry_initial = std::chrono::milliseconds(initial);
    c.delivery.retry_max = std::chrono::milliseconds(max);
    c.delivery.dead_letter_after = std::chrono::seconds(dead);
    c.delivery.stream_window = static_cast<std::size_t>(window);
  }
  if (const json::value* l = r.get("limits")) {
    if (!l->is_object()) return Error::make("config", "must be an object", "limits");
    Reader lr(l->as_object(), "limits",
              {"max_body_bytes", "max_xml_depth", "idle_timeout_s", "header_timeout_s", "max_connections"});
    DEIT_CHECK(lr.check_keys());
    std::int64_t idle = c.limits.idle_timeout.count(), header = c.limits.header_timeout.count();
    DEIT_CHECK(lr.integer("max_body_bytes", c.limits.max_body_bytes, 1024, 64 << 20));
    DEIT_CHECK(lr.integer("max_xml_depth", c.limits.max_xml_depth, 8, 256));
    DEIT_CHECK(lr.integer("idle_timeout_s", idle, 1, 3600));
    DEIT_CHECK(lr.integer("header_timeout_s", header, 1, 600));
    DEIT_CHECK(lr.integer("max_connections", c.limits.max_connections, 1, 1'000'000));
    c.limits.idle_timeout = std::chrono::seconds(idle);
    c.limits.header_timeout = std::chrono::seconds(header);
  }
  if (const json::value* g = r.get("gazetteer")) {
    if (!g->is_object()) return Error::make("config", "must be an object", "gazetteer");
    Reader gr(g->as_object(), "gazetteer",
              {"snapshot", "generate_sample", "ostn15_grid", "boundaries", "border_distance_m", "verified_confidence"});
    DEIT_CHECK(gr.check_keys());
    DEIT_CHECK(gr.string("snapshot", c.gazetteer.snapshot, true));
    DEIT_CHECK(gr.boolean("generate_sample", c.gazetteer.generate_sample));
    DEIT_CHECK(gr.string("ostn15_grid", c.gazetteer.ostn15_grid));
    std::int64_t border = static_cast<std::int64_t>(c.gazetteer.border_distance_m);
    DEIT_CHECK(gr.integer("border_distance_m", border, 0, 100'000));
    c.gazetteer.border_distance_m = static_cast<double>(border);
    if (const json::value* v = gr.get("verified_confidence")) {
      if (!v->is_number() || v->to_number<double>() < 0 || v->to_number<double>() > 1)
        return Error::make("config", "must be a number from 0 to 1", gr.at("verified_confidence"));
      c.gazetteer.verified_confidence = v->to_number<double>();
    }
    if (const json::value* b = gr.get("boundaries")) {
      if (!b->is_array()) return Error::make("config", "must be an array of file names", gr.at("boundaries"));
      for (std::size_t i = 0; i < b->as_array().size(); ++i) {
        const auto& f = b->as_array()[i];
        if (!f.is_string())
          return Error::make("config", "must be a file name", gr.at("boundaries") + "[" + std::to_string(i) + "]");
        c.gazetteer.boundaries.push_back(resolve(base_dir, std::string(f.as_string())));
      }
    }
    c.gazetteer.snapshot = resolve(base_dir, c.gazetteer.snapshot);
    c.gazetteer.ostn15_grid = resolve(base_dir, c.gazetteer.ostn15_grid);
  }
  if (const json::value* l = r.get("links")) DEIT_CHECK(links::parse_links_config(*l, base_dir, c.links));
  const json::value* agencies = r.get("agencies");
  if (!agencies || !agencies->is_array() || agencies->as_array().empty())
    return Error::make("config", "must be a non-empty array of agencies", "agencies");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < agencies->as_array().size(); ++i) {
    const std::string path = "agencies[" + std::to_string(i) + "]";
    auto a = parse_agency(agencies->as_array()[i], path);
    if (!a) return a.error();
    if (!ids.insert(a->id).second) return Error::make("config", "duplicate agency id '" + a->id + "'", path + ".id");
    c.agencies.push_back(std::move(a).value());
  }
  if (const json::value* admins = r.get("administrators")) {
    if (!admins->is_array()) return Error::make("config", "must be an array", "administrators");
    for (std::size_t i = 0; i < admins->as_array().size(); ++i) {
      auto m = parse_certificate(admins->as_array()[i], "administrators[" + std::to_string(i) + "]");
      if (!m) return m.error();
      c.administrators.push_back(std::move(m).value());
    }
  }

  if (const json::value* a = r.get("acceptance")) DEIT_CHECK(parse_acceptance(*a, c.acceptance));
  if (const json::value* b = r.get("buddy")) {
    if (!b->is_array()) return Error::make("config", "must be an array of arrangements", "buddy");
    std::vector<buddy::Arrangement> arrangements;
    for (std::size_t i = 0; i < b->as_array().size(); ++i) {
      auto a = parse_arrangement(b->as_array()[i], "buddy[" + std::to_string(i) + "]");
      if (!a) return a.error();
      arrangements.push_back(std::move(a).value());
    }
    auto checked = buddy::Board::check(std::move(arrangements), [&](const std::string& id) { return ids.count(id) > 0; });
    if (!checked) return checked.error();
    c.buddy = std::move(checked).value();
  }
  if (const json::value* rules = r.get("sharing_rules")) {
    auto parsed = parse_sharing_rules(*rules, std::vector<std::string>(ids.begin(), ids.end()));
    if (!parsed) return parsed.error();
    c.sharing_rules = std::move(parsed).value();
  }

  // A certificate must identify exactly one agency or administrator.
  DEIT_CHECK(check_certificate_claims(certificate_claims(c.agencies, c.administrators)));

  c.store_path = resolve(base_dir, c.store_path);
  c.mappings_dir = resolve(base_dir, c.mappings_dir);
  c.log_file = resolve(base_dir, c.log_file);
  c.tls.ca_file = resolve(base_dir, c.tls.ca_file);
  c.tls.cert_file = resolve(base_dir, c.tls.cert_file);
  c.tls.key_file = resolve(base_dir, c.tls.key_file);
  c.tls.crl_file = resolve(base_dir, c.tls.crl_file);
  c.tls.dev_certs_dir = std::filesystem::path(c.tls.cert_file).parent_path().string();
  DEIT_CHECK(links::check_links_config(c));
  return c;
}

#undef DEIT_CHECK

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make("config", "cannot read the configuration file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = parse_config(ss.str(), std::filesystem::absolute(path).parent_path().string());
  if (!c) {
    Error e = c.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return c;
}

Result<ConfigChanges> plan_reload(const Config& running, Config& fresh) {
  ConfigChanges out;
  // The link service (hub/links/) reads these at start: its outbound links, and the key
  // ring that admits agencies' link keys.
  auto outbound_link = [](const Agency* a) {
    const bool link = a != nullptr && a->delivery == DeliveryMode::link;
    return std::make_tuple(link, link ? a->endpoint : std::string(), link ? a->server_key : std::string());
  };
  for (std::size_t i = 0; i < fresh.agencies.size(); ++i) {
    const Agency& a = fresh.agencies[i];
    const Agency* before = running.find_agency(a.id);
    const std::string at = "agencies[" + std::to_string(i) + "]";
    if (outbound_link(before) != outbound_link(&a))
      return Error::make("config",
                         "'" + a.id + "': a ZeroMQ link to the agency (delivery \"link\", its endpoint, server_key) "
                         "changes only with a restart; nothing was reloaded",
                         at);
    if (a.link_keys != (before ? before->link_keys : std::vector<std::string>()))
      out.restart_required.push_back(at + ".link_keys");
    if (before == nullptr) {
      out.added.push_back(a.id);
    } else if (!(*before == a)) {
      out.changed.push_back(a.id);
    }
  }
  for (const Agency& a : running.agencies) {
    if (fresh.find_agency(a.id) != nullptr) continue;
    if (std::get<0>(outbound_link(&a)))
      return Error::make("config",
                         "'" + a.id + "' is removed, but the hub's ZeroMQ link to it ends only with a restart; "
                         "nothing was reloaded",
                         "agencies");
    out.removed.push_back(a.id);
  }
  auto reloadable = [&](const char* name, const auto& now, const auto& then) {
    if (!(now == then)) out.settings.emplace_back(name);
  };
  reloadable("administrators", fresh.administrators, running.administrators);
  reloadable("acceptance", fresh.acceptance, running.acceptance);
  reloadable("buddy", fresh.buddy, running.buddy);
  reloadable("sharing_rules", fresh.sharing_rules, running.sharing_rules);
  reloadable("delivery", fresh.delivery, running.delivery);
  reloadable("retention_days", fresh.retention_days, running.retention_days);
  reloadable("log_level", fresh.log_level, running.log_level);
  reloadable("gazetteer", fresh.gazetteer, running.gazetteer);
  // Keeps the running value, and says so when the file has another.
  auto restart_only = [&](const char* name, auto& kept, const auto& now) {
    if (kept == now) return;
    out.restart_required.emplace_back(name);
    kept = now;
  };
  if (fresh.listen_address != running.listen_address || fresh.listen_port != running.listen_port) {
    out.restart_required.emplace_back("listen");
    fresh.listen_address = running.listen_address;
    fresh.listen_port = running.listen_port;
  }
  restart_only("store", fresh.store_path, running.store_path);
  restart_only("log_file", fresh.log_file, running.log_file);
  restart_only("io_threads", fresh.io_threads, running.io_threads);
  restart_only("commit_interval_ms", fresh.commit_interval_ms, running.commit_interval_ms);
  restart_only("tls", fresh.tls, running.tls);
  restart_only("limits", fresh.limits, running.limits);
  restart_only("links", fresh.links, running.links);
  restart_only("mappings_dir", fresh.mappings_dir, running.mappings_dir);
  return out;
}

Result<Config> default_config(const std::string& base_dir) { return parse_config(default_config_json, base_dir); }

std::string_view default_config_text() { return default_config_json; }

}  // namespace deit::hub
