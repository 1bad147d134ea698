#pragma once
// The configuration of ZeroMQ links, parsed here so the links stay in their own files:
//   "links": {"listen": "tcp://127.0.0.1:8444", "key": "certs/hub.curve.key",
//             "heartbeat_ms": 5000, "heartbeat_timeout_ms": 20000, "window": 256}
//   agencies[].link_keys: ["<Z85 public key>", ...]
//   agencies[].delivery: {"mode": "link", "endpoint": "tcp://host:port", "server_key": "<Z85>"}
// Errors name the JSON path, like every other configuration error.

#include <boost/json/fwd.hpp>

#include <string>
#include <vector>

#include "hub/config.hpp"

namespace deit::hub::links {

Status parse_links_config(const boost::json::value& value, const std::string& base_dir, LinksConfig& out);
Status parse_link_keys(const boost::json::value& value, const std::string& path, std::vector<std::string>& out);
// tcp://host:port; `listen` also allows port '*' (the system picks one).
Status check_tcp_endpoint(const std::string& endpoint, const std::string& field, bool listen);
// An agency with delivery mode link: a tcp:// endpoint and the remote end's public key.
Status check_link_delivery(const Agency& agency, const std::string& delivery_path);
// After all agencies are read: every link key belongs to exactly one agency, and a key
// file is configured (or will be generated) when links are in use.
Status check_links_config(Config& config);

}  // namespace deit::hub::links
