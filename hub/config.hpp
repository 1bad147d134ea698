#pragma once
// The hub's whole configuration, from one JSON file or the embedded defaults.
// Every mistake is reported with its JSON path (and line/column for syntax errors), e.g.
//   agencies[2].kind: 'polce' is not one of police, fire, ambulance

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "buddy/buddy.hpp"
#include "hub/model/incident.hpp"
#include "hub/model/result.hpp"
#include "hub/sharing.hpp"

namespace deit::hub {

enum class Role { operator_role, business_continuity, administrator };
std::string_view to_string(Role);

// How a client certificate is recognised: by subject common name, by a subject
// alternative name, or by the SHA-256 fingerprint of the DER certificate (hex, colons
// optional). A rule naming several matches only a certificate that has all of them
// (hub/identity.hpp).
struct CertificateMatch {
  std::string subject_cn;
  std::string sha256;  // lower-case hex without colons
  std::string san;     // "DNS:name", "email:address" or "URI:uri", normalised
  std::vector<Role> roles{Role::operator_role};
  bool implicit = false;  // an agency without certificates: its id as the subject CN
  bool operator==(const CertificateMatch&) const = default;
};

// pull: the agency fetches (stream, inbox, or a ZeroMQ link it opens); push: the hub POSTs
// to its HTTPS endpoint; link: the hub opens a ZeroMQ CURVE link to it (hub/links/).
enum class DeliveryMode { pull, push, link };

struct Agency {
  std::string id;
  std::string name;
  model::AgencyKind kind = model::AgencyKind::police;
  std::string format = "deit";  // adapter name
  DeliveryMode delivery = DeliveryMode::pull;
  std::string endpoint;  // https://host:port/path (push) or tcp://host:port (link)
  std::string server_key;  // link: the remote end's CURVE public key (Z85)
  std::vector<CertificateMatch> certificates;  // empty: CN equal to the agency id
  std::vector<std::string> link_keys;  // CURVE public keys (Z85) admitted on links as this agency
  bool operator==(const Agency&) const = default;
};

// ZeroMQ CURVE links (hub/links/): off unless `listen` is set or an agency uses mode link.
struct LinksConfig {
  std::string listen;    // tcp://host:port of the link listener; empty: none
  std::string key_file;  // the hub's CURVE secret key (Z85); its public key is derived
  std::chrono::milliseconds heartbeat{5000};
  std::chrono::milliseconds heartbeat_timeout{20000};
  std::size_t window = 256;  // unacknowledged deliveries in flight per link
  bool enabled() const { return !listen.empty() || uses_outbound; }
  bool uses_outbound = false;  // some agency has delivery mode link
  bool operator==(const LinksConfig&) const = default;
};

struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string crl_file;            // optional
  bool generate_dev_certs = false;  // create a development CA and certificates if missing
  std::string dev_certs_dir;        // where generated certificates go
  bool operator==(const TlsConfig&) const = default;
};

struct DeliveryConfig {
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{60'000};
  std::chrono::seconds dead_letter_after{600};
  std::size_t stream_window = 512;  // unacknowledged deliveries in flight per stream
  bool operator==(const DeliveryConfig&) const = default;
};

struct Limits {
  std::size_t max_body_bytes = 1 << 20;
  int max_xml_depth = 32;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds header_timeout{10};
  std::size_t max_connections = 4096;
  bool operator==(const Limits&) const = default;
};

// The national address gazetteer (gazetteer/). Without a snapshot the hub runs on and
// every location is passed through unverified.
struct GazetteerConfig {
  std::string snapshot;          // the .gaz snapshot file; empty: no gazetteer
  bool generate_sample = false;  // build the demo sample snapshot there on first start
  std::string ostn15_grid;       // OSTN15 NTv2 grid file for exact BNG <-> WGS84 (optional)
  std::vector<std::string> boundaries;  // GeoJSON responsibility areas (optional)
  double border_distance_m = 2000;
  double verified_confidence = 0.8;
  bool operator==(const GazetteerConfig&) const = default;
};

// How long a receiver has to accept a transfer before the hub raises an alert, tells the
// sender and, where an arrangement says so, falls back to the receiver's buddy.
struct AcceptanceConfig {
  // By grade word as recorded on the transfer ("emergency", "priority", "category-2", "P1",
  // ...). "emergency" also applies to any transfer flagged emergency or life-risk.
  std::map<std::string, std::chrono::seconds, std::less<>> by_grade;
  std::optional<std::chrono::seconds> otherwise;  // grades not listed; none: no deadline
  bool enabled() const { return !by_grade.empty() || otherwise.has_value(); }
  // The deadline for a transfer, nullopt when none applies.
  std::optional<std::chrono::seconds> deadline(std::string_view grade, bool emergency) const;
  bool operator==(const AcceptanceConfig&) const = default;
};

struct Config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8443;
  std::string store_path = "var/deit-hub.db";
  std::string log_file;  // empty: stdout only
  std::string log_level = "info";
  int io_threads = 2;
  // Days after a transfer ends (closed, cancelled, rejected) before its personal data is
  // erased (Store::erase_ended); 0 keeps everything. The period is the force's policy.
  int retention_days = 0;
  // Under load (above 2,500 store ops a second), the longest the store's writer waits after
  // one commit began before it starts the next, to commit more transfers at once (StoreOptions);
  // 0: commit as soon as anything waits.
  int commit_interval_ms = 4;
  TlsConfig tls;
  DeliveryConfig delivery;
  Limits limits;
  GazetteerConfig gazetteer;
  LinksConfig links;
  // Code mapping tables (CSV) replacing the embedded ones; reloadable at run time.
  std::string mappings_dir;
  std::vector<Agency> agencies;
  std::vector<CertificateMatch> administrators;
  AcceptanceConfig acceptance;
  std::vector<buddy::Arrangement> buddy;  // PECS buddy arrangements, checked against agencies
  // Fields withheld per sender and receiver (hub/sharing.hpp); none when absent.
  std::vector<SharingRule> sharing_rules;

  const Agency* find_agency(std::string_view id) const;
};

// What reloading the configuration file changes (Hub::reload_config).
struct ConfigChanges {
  std::vector<std::string> added, removed, changed;  // agency ids
  std::vector<std::string> settings;                  // other settings now in effect, e.g. "buddy"
  // Settings that differ in the file but keep their running values until a restart.
  std::vector<std::string> restart_required;
  bool any() const { return !added.empty() || !removed.empty() || !changed.empty() || !settings.empty(); }
};

// Compares a freshly read configuration with the running one and makes `fresh` the one to
// run: the settings only a restart can change (listen, store, logging file, threads, commit
// interval, TLS file names, limits, mappings directory, ZeroMQ links) are copied from
// `running` and listed in restart_required. Agencies, administrators, acceptance
// deadlines, buddy arrangements, sharing rules, delivery retries, retention, the log level
// and the gazetteer settings change at once. The link service reads ZeroMQ settings at
// start only: an agency's link_keys are admitted at the next restart (restart_required),
// and a change to a link the hub opens to an agency (delivery "link", its endpoint,
// server_key) is an error naming the agency: nothing is reloaded.
Result<ConfigChanges> plan_reload(const Config& running, Config& fresh);

// Parses a configuration document. `base_dir` resolves relative file paths.
Result<Config> parse_config(std::string_view json_text, const std::string& base_dir);
// Reads and parses a file; errors name the file.
Result<Config> load_config_file(const std::string& path);
// The embedded defaults: five sample agencies, SQLite under var/, development certificates.
Result<Config> default_config(const std::string& base_dir);
// The embedded default configuration text (for `deit-hub --print-default-config`).
std::string_view default_config_text();

}  // namespace deit::hub
