#include "hub/links/link_config.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>

#include "hub/links/curve_keys.hpp"

namespace deit::hub::links {

namespace json = boost::json;

namespace {

Status milliseconds(const json::object& o, std::string_view key, const std::string& path, std::int64_t min,
                    std::int64_t max, std::chrono::milliseconds& out) {
  auto it = o.find(key);
  if (it == o.end()) return Status::success();
  const json::value& v = it->value();
  const std::string field = path + "." + std::string(key);
  if (!v.is_int64() && !v.is_uint64()) return Error::make("config", "must be a whole number", field);
  const std::int64_t n = v.is_int64() ? v.as_int64() : static_cast<std::int64_t>(v.as_uint64());
  if (n < min || n > max)
    return Error::make("config", "must be between " + std::to_string(min) + " and " + std::to_string(max), field);
  out = std::chrono::milliseconds(n);
  return Status::success();
}

}  // namespace

Status check_tcp_endpoint(const std::string& endpoint, const std::string& field, bool listen) {
  const std::string usage = listen ? "must be tcp://HOST:PORT (PORT may be *)" : "must be tcp://HOST:PORT";
  if (endpoint.rfind("tcp://", 0) != 0) return Error::make("config", "'" + endpoint + "' " + usage, field);
  const std::string rest = endpoint.substr(6);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return Error::make("config", "'" + endpoint + "' " + usage, field);
  const std::string port = rest.substr(colon + 1);
  if (listen && port == "*") return Status::success();
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535)
    return Error::make("config", "'" + port + "' is not a port number (1-65535)", field);
  return Status::success();
}

Status parse_links_config(const json::value& value, const std::string& base_dir, LinksConfig& out) {
  if (!value.is_object()) return Error::make("config", "must be an object", "links");
  const json::object& o = value.as_object();
  for (const auto& kv : o) {
    static const std::vector<std::string_view> allowed{"listen", "key", "heartbeat_ms", "heartbeat_timeout_ms",
                                                       "window"};
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
      return Error::make("config", "unknown setting", "links." + std::string(kv.key()));
  }
  auto string = [&](std::string_view key, std::string& dest) -> Status {
    auto it = o.find(key);
    if (it == o.end()) return Status::success();
    if (!it->value().is_string()) return Error::make("config", "must be a string", "links." + std::string(key));
    dest = std::string(it->value().as_string());
    return Status::success();
  };
  if (auto s = string("listen", out.listen); !s) return s;
  if (!out.listen.empty()) {
    if (auto s = check_tcp_endpoint(out.listen, "links.listen", true); !s) return s;
  }
  if (auto s = string("key", out.key_file); !s) return s;
  if (!out.key_file.empty() && !std::filesystem::path(out.key_file).is_absolute())
    out.key_file = (std::filesystem::path(base_dir) / out.key_file).lexically_normal().string();
  if (auto s = milliseconds(o, "heartbeat_ms", "links", 50, 600'000, out.heartbeat); !s) return s;
  if (auto s = milliseconds(o, "heartbeat_timeout_ms", "links", 100, 3'600'000, out.heartbeat_timeout); !s) return s;
  if (out.heartbeat_timeout < 2 * out.heartbeat)
    return Error::make("config", "must be at least twice heartbeat_ms, so one lost heartbeat is not a dead link",
                       "links.heartbeat_timeout_ms");
  if (auto it = o.find("window"); it != o.end()) {
    const json::value& v = it->value();
    if (!v.is_int64() && !v.is_uint64()) return Error::make("config", "must be a whole number", "links.window");
    const std::int64_t n = v.is_int64() ? v.as_int64() : static_cast<std::int64_t>(v.as_uint64());
    if (n < 1 || n > 100'000) return Error::make("config", "must be between 1 and 100000", "links.window");
    out.window = static_cast<std::size_t>(n);
  }
  return Status::success();
}

Status parse_link_keys(const json::value& value, const std::string& path, std::vector<std::string>& out) {
  if (!value.is_array()) return Error::make("config", "must be an array of Z85 CURVE public keys", path);
  const json::array& a = value.as_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string field = path + "[" + std::to_string(i) + "]";
    if (!a[i].is_string()) return Error::make("config", "must be a string (a Z85 CURVE public key)", field);
    const std::string key(a[i].as_string());
    if (auto s = check_z85_key(key, field); !s) return s;
    out.push_back(key);
  }
  return Status::success();
}

Status check_link_delivery(const Agency& agency, const std::string& delivery_path) {
  if (agency.delivery != DeliveryMode::link) {
    if (!agency.server_key.empty())
      return Error::make("config", "server_key applies only to delivery mode link", delivery_path + ".server_key");
    return Status::success();
  }
  if (auto s = check_tcp_endpoint(agency.endpoint, delivery_path + ".endpoint", false); !s) return s;
  if (agency.server_key.empty())
    return Error::make("config", "link delivery needs the remote end's CURVE public key", delivery_path + ".server_key");
  return check_z85_key(agency.server_key, delivery_path + ".server_key");
}

Status check_links_config(Config& config) {
  std::map<std::string, std::size_t> owner;  // key -> agency index
  for (std::size_t i = 0; i < config.agencies.size(); ++i) {
    const Agency& a = config.agencies[i];
    if (a.delivery == DeliveryMode::link) config.links.uses_outbound = true;
    for (std::size_t k = 0; k < a.link_keys.size(); ++k) {
      const std::string field = "agencies[" + std::to_string(i) + "].link_keys[" + std::to_string(k) + "]";
      auto [it, inserted] = owner.emplace(a.link_keys[k], i);
      // One key, one agency: a link's identity must never be ambiguous.
      if (!inserted && it->second != i)
        return Error::make("config", "link key is already admitted for agency '" + config.agencies[it->second].id + "'",
                           field);
      if (!inserted) return Error::make("config", "link key is listed twice", field);
    }
  }
  if (config.links.enabled() && config.links.key_file.empty() && !config.tls.generate_dev_certs)
    return Error::make("config", "links need the hub's CURVE key file (or tls.generate_dev_certs for a development key)",
                       "links.key");
  return Status::success();
}

}  // namespace deit::hub::links
