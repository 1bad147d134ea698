#include "hub/hub.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "adapters/deit/deit_adapter.hpp"
#include "adapters/mapping_tables.hpp"
#include "gazetteer/builder.hpp"
#include "gazetteer/generator.hpp"
#include "gazetteer/json.hpp"

namespace deit::hub {

bool Identity::has_role(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

std::string findings_to_json(const std::vector<adapters::Finding>& findings) {
  boost::json::array a;
  for (const auto& f : findings) a.push_back({{"field", f.field}, {"rule", f.rule}, {"message", f.message}});
  return boost::json::serialize(a);
}

Hub::Hub(Config config, std::shared_ptr<const adapters::Registry> adapters, std::unique_ptr<Store> store)
    : config_(std::move(config)), adapters_(std::move(adapters)), store_(std::move(store)) {}

Hub::~Hub() {
  if (store_) store_->close();
}

Result<std::unique_ptr<Hub>> Hub::create(Config config) {
  auto registry = adapters::builtin_registry();
  if (!registry) return registry.error();
  for (std::size_t i = 0; i < config.agencies.size(); ++i) {
    if (!(*registry)->find(config.agencies[i].format))
      return Error::make("config", "format '" + config.agencies[i].format + "' is not one the hub knows",
                         "agencies[" + std::to_string(i) + "].format");
  }
  if (!config.mappings_dir.empty()) {
    if (auto s = adapters::default_mapping_store()->reload(config.mappings_dir); !s) return s.error();
  }
  auto store = Store::open(config.store_path);
  if (!store) return store.error();
  std::unique_ptr<Hub> hub(new Hub(std::move(config), std::move(registry).value(), std::move(store).value()));
  if (const auto& g = hub->config_.gazetteer; !g.snapshot.empty()) {
    Status ready = g.generate_sample ? ensure_sample_gazetteer(g.snapshot) : Status::success();
    gazetteer::Options options;
    options.ostn15_grid = g.ostn15_grid;
    options.boundaries = g.boundaries;
    options.border_distance_m = g.border_distance_m;
    options.verified_confidence = g.verified_confidence;
    auto opened = ready ? gazetteer::Gazetteer::open(g.snapshot, options) : Result<gazetteer::Gazetteer>(ready.error());
    if (opened) {
      const auto info = opened->info();
      spdlog::info("event=gazetteer-opened snapshot={} uprns={} coordinates=\"{}\"", info.path, info.uprns,
                   info.coordinate_method);
      hub->gazetteer_ = std::move(opened).value();
    } else {
      // Lives first: without a gazetteer transfers still flow, flagged as unverified.
      spdlog::error("event=alert kind=gazetteer-unavailable snapshot={} reason=\"{}\"", g.snapshot,
                    opened.error().describe());
    }
  }
  auto pending = hub->store_->pending_deliveries();
  if (!pending) return pending.error();
  for (auto& d : *pending) hub->dispatcher_.enqueue(std::move(d));
  spdlog::info("event=resumed pending_deliveries={}", hub->dispatcher_.pending_total());
  hub->log_audit_head(true);
  hub->audit({"hub", "hub-started", AuditCategory::administration, "hub",
              boost::json::serialize(boost::json::object{{"agencies", hub->config_.agencies.size()},
                                                         {"pendingDeliveries", hub->dispatcher_.pending_total()}}),
              ""});
  return hub;
}

std::optional<Identity> Hub::identify(std::string_view subject_cn, std::string_view sha256_hex) const {
  auto matches = [&](const CertificateMatch& m) {
    // A fingerprint pins one certificate; a CN trusts whatever our CA issued for that name.
    if (!m.sha256.empty()) return m.sha256 == sha256_hex;
    return !m.subject_cn.empty() && m.subject_cn == subject_cn;
  };
  for (const auto& a : config_.agencies)
    for (const auto& m : a.certificates)
      if (matches(m)) return Identity{a.id, std::string(subject_cn), std::string(sha256_hex), m.roles};
  for (const auto& m : config_.administrators)
    if (matches(m)) return Identity{"", std::string(subject_cn), std::string(sha256_hex), m.roles};
  return std::nullopt;
}

bool Hub::may_read(const Identity& caller, const TransferRecord& t) {
  if (caller.has_role(Role::administrator)) return true;
  return !caller.agency.empty() && (caller.agency == t.sender || caller.agency == t.receiver);
}

Result<SubmitRequest> Hub::prepare_submit(const Identity& caller, std::string_view body,
                                          std::string_view content_type) const {
  const Agency* sender = config_.find_agency(caller.agency);
  if (!sender) return Error::make("forbidden", "only an agency's certificate may submit incidents", "certificate");
  const adapters::Adapter* in = adapters_->find(sender->format);
  if (!in) return Error::make("config", "no adapter for format " + sender->format, "format");
  if (!content_type.empty()) {
    // Media types are case-insensitive and may carry parameters and spaces.
    std::string base(content_type.substr(0, content_type.find(';')));
    base.erase(std::remove_if(base.begin(), base.end(), [](unsigned char c) { return std::isspace(c); }), base.end());
    std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto expected = in->content_type();
    const bool xml_ok = expected == "application/xml" && (base == "application/xml" || base == "text/xml");
    if (base != expected && !xml_ok)
      return Error::make("unsupported-media-type",
                         "agency " + sender->id + " sends format '" + sender->format + "' as " + std::string(expected) +
                             ", not " + base,
                         "Content-Type");
  }

  SubmitRequest request;
  request.received_at = now_ms();
  auto decoded = in->decode(body);
  if (!decoded) return decoded.error();
  request.validated_at = now_ms();
  model::IncidentMessage& m = decoded->message;

  if (m.sender_agency != sender->id)
    return Error::make("forbidden",
                       "the message says it is from '" + m.sender_agency + "' but the certificate belongs to '" +
                           sender->id + "'",
                       "incidentMessage/sender");
  std::vector<std::string> receivers;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < m.receiving_agencies.size(); ++i) {
    const std::string& r = m.receiving_agencies[i];
    const std::string field = "incidentMessage/receivers/receiver[" + std::to_string(i + 1) + "]";
    if (!config_.find_agency(r)) return Error::make("unknown-agency", "'" + r + "' is not a known agency", field);
    if (r == sender->id) return Error::make("routing", "an agency cannot transfer an incident to itself", field);
    if (seen.insert(r).second) receivers.push_back(r);
  }
  if (receivers.empty())
    return Error::make("routing", "name at least one receiver (routing by location needs the gazetteer)",
                       "incidentMessage/receivers");

  m.transfer_id.clear();
  request.canonical_xml = adapters::encode_canonical(m);  // as received, before any enrichment
  if (gazetteer_) {
    LocationCheck check = check_location(*gazetteer_, m);
    request.location_json = std::move(check.json);
    request.location_verified = check.verified;
    decoded->findings.insert(decoded->findings.end(), check.findings.begin(), check.findings.end());
  }
  for (const std::string& r : receivers) {
    const Agency* receiver = config_.find_agency(r);
    const adapters::Adapter* out = adapters_->find(receiver->format);
    model::IncidentMessage copy = m;
    copy.transfer_id = make_transfer_id(m.sender_agency, m.sender_reference, r);
    auto encoded = out->encode(copy);
    if (!encoded)
      return Error::make("translation", "cannot translate for " + r + ": " + encoded.error().describe(),
                         encoded.error().field);
    std::vector<adapters::Finding> findings = decoded->findings;
    findings.insert(findings.end(), encoded->findings.begin(), encoded->findings.end());
    request.targets.push_back(SubmitRequest::Target{copy.transfer_id, r, std::move(encoded->content_type),
                                                    std::move(encoded->bytes), findings_to_json(findings)});
  }
  request.message = std::move(m);
  return request;
}

void Hub::commit_submit(SubmitRequest request, std::function<void(Result<SubmitOutcome>)> done) {
  const std::string sender = request.message.sender_agency, message_id = request.message.message_id;
  const std::string type(model::to_string(request.message.type));
  store_->submit(std::move(request), [this, sender, message_id, type, done = std::move(done)](Result<SubmitOutcome> r) {
    if (r) {
      if (r->duplicate) {
        spdlog::info("event=duplicate-suppressed sender={} message={} transfers={}", sender, message_id,
                     r->transfers.size());
      }
      for (auto& d : r->deliveries) {
        spdlog::info("event=stored transfer={} message={} type={} sender={} receiver={} delivery={}", d.transfer_id,
                     message_id, type, sender, d.agency, d.seq);
        dispatcher_.enqueue(d);
      }
    } else {
      spdlog::warn("event=refused sender={} message={} rule={} reason=\"{}\"", sender, message_id, r.error().rule,
                   r.error().message);
    }
    done(std::move(r));
  });
}

void Hub::acknowledge(const std::string& agency, std::vector<std::uint64_t> seqs,
                      std::function<void(Result<AckOutcome>)> done) {
  store_->acknowledge(agency, std::move(seqs), [this, agency, done = std::move(done)](Result<AckOutcome> r) {
    if (r) {
      dispatcher_.remove(r->acknowledged);
      for (auto seq : r->acknowledged) spdlog::debug("event=delivered agency={} delivery={}", agency, seq);
    }
    done(std::move(r));
  });
}

void Hub::decide(DecisionRequest request, std::function<void(Result<DecisionOutcome>)> done) {
  store_->decide(std::move(request), [this, done = std::move(done)](Result<DecisionOutcome> r) {
    if (r && !r->unchanged) {
      const auto& t = r->transfer;
      spdlog::info("event={} transfer={} sender={} receiver={} by=\"{}\" reason=\"{}\"",
                   t.accepted_at ? "accepted" : "rejected", t.id, t.sender, t.receiver, t.decided_by,
                   t.decision_reason);
      if (r->status_for_sender) dispatcher_.enqueue(*r->status_for_sender);
    }
    done(std::move(r));
  });
}

void Hub::requeue(std::uint64_t seq, std::function<void(Result<Delivery>)> done) {
  requeue(seq, "administrator", std::move(done));
}

void Hub::requeue(std::uint64_t seq, std::string actor, std::function<void(Result<Delivery>)> done) {
  store_->requeue(seq, std::move(actor), [this, done = std::move(done)](Result<Delivery> r) {
    if (r) {
      spdlog::info("event=requeued transfer={} delivery={} agency={}", r->transfer_id, r->seq, r->agency);
      dispatcher_.enqueue(*r);
    }
    done(std::move(r));
  });
}

Status Hub::reload_mappings(const std::string& actor) {
  if (config_.mappings_dir.empty())
    return Error::make("config", "no mappings_dir is configured; the embedded tables are in use", "mappings_dir");
  Status s = adapters::default_mapping_store()->reload(config_.mappings_dir);
  if (s) {
    spdlog::info("event=mappings-reloaded dir={}", config_.mappings_dir);
  } else {
    spdlog::error("event=mappings-reload-failed dir={} reason=\"{}\"", config_.mappings_dir, s.error().describe());
  }
  audit({actor, s ? "reload-mappings" : "reload-mappings-failed", AuditCategory::administration, "mappings",
         boost::json::serialize(boost::json::object{{"dir", config_.mappings_dir}}), s ? "" : s.error().describe()});
  return s;
}

void Hub::erase(EraseRequest request, std::function<void(Result<EraseOutcome>)> done) {
  store_->erase_transfer(std::move(request), [done = std::move(done)](Result<EraseOutcome> r) {
    if (r) {
      spdlog::info("event=erased transfer={} by=\"{}\" messages={} deliveries={} events={} audit={} reason=\"{}\"",
                   r->transfer.id, r->audit.actor, r->messages, r->deliveries, r->events, r->audit.seq, r->audit.reason);
    }
    done(std::move(r));
  });
}

void Hub::audit(AuditEntry entry, std::function<void(Result<AuditRecord>)> done) {
  store_->append_audit(std::move(entry), std::move(done));
}

void Hub::log_audit_head(bool force) {
  auto head = store_->audit_head();
  if (!head) return;
  std::lock_guard lock(audit_head_mutex_);
  if (!force && head->seq == logged_audit_head_) return;
  logged_audit_head_ = head->seq;
  spdlog::info("event=audit-head seq={} hash={}", head->seq, head->hash);
}

void Hub::sweep_dead_letters(std::int64_t now) {
  const std::int64_t limit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.delivery.dead_letter_after).count();
  auto stale = dispatcher_.queued_before(now - limit_ms);
  if (stale.empty() || sweeping_.exchange(true)) return;
  std::vector<std::uint64_t> seqs;
  for (const auto& d : stale) {
    seqs.push_back(d.seq);
    // The alert a supervisor acts on: an incident nobody has taken.
    spdlog::error("event=alert kind=dead-letter transfer={} message={} agency={} delivery={} waited_s={}",
                  d.transfer_id, d.message_id, d.agency, d.seq, (now - d.queued_at) / 1000);
  }
  const std::string reason = "not acknowledged by the receiver within " +
                             std::to_string(config_.delivery.dead_letter_after.count()) + " s";
  store_->dead_letter(seqs, reason, [this, seqs](Result<std::vector<Delivery>> r) {
    if (r) {
      dispatcher_.remove(seqs);
      for (auto& d : *r) dispatcher_.enqueue(d);
    }
    sweeping_ = false;
  });
}

}  // namespace deit::hub

namespace deit::hub {

LocationCheck check_location(const gazetteer::Gazetteer& gaz, model::IncidentMessage& message) {
  model::Location& loc = message.incident.location;
  gazetteer::LocationInput input;
  input.uprn = loc.uprn;
  input.text = loc.text;
  if (input.text.empty()) {
    const auto& a = loc.address;
    input.structured = gazetteer::StructuredAddress{a.sao, a.pao, a.street, a.locality, a.town, a.postcode};
  }
  if (loc.latitude && loc.longitude) input.wgs84 = gazetteer::LatLon{*loc.latitude, *loc.longitude};
  if (loc.easting && loc.northing) input.bng = gazetteer::Bng{*loc.easting, *loc.northing};

  LocationCheck out;
  if (!input.uprn && input.text.empty() && input.structured.street.empty() && input.structured.postcode.empty() &&
      input.structured.pao.empty() && !input.wgs84 && !input.bng) {
    out.json = R"({"verified":false,"flags":["no location given"]})";
    out.findings.push_back({"incident/location", "location-unverified", "no location given"});
    return out;
  }
  const gazetteer::Verification v = gaz.verify(input);
  out.verified = v.verified;
  boost::json::object o{{"verified", v.verified}};
  boost::json::array flags;
  for (const auto& f : v.flags) flags.push_back(boost::json::string(f));
  o["flags"] = std::move(flags);
  if (v.best) {
    const auto& a = v.best->address;
    // The best candidate in the same shape as the /v1/gazetteer API answers.
    for (const auto& field : gazetteer::candidate_json(*v.best)) o[field.key()] = field.value();
    if (v.verified) {
      // Fill only what the sender left empty, and say so.
      std::string filled;
      if (!loc.uprn) {
        loc.uprn = a.uprn;
        filled += " UPRN";
      }
      if (a.coordinates.known && !(loc.easting && loc.northing)) {
        loc.easting = a.coordinates.bng.easting;
        loc.northing = a.coordinates.bng.northing;
        filled += " BNG";
      }
      if (a.coordinates.known && !(loc.latitude && loc.longitude)) {
        loc.latitude = a.coordinates.wgs84.latitude;
        loc.longitude = a.coordinates.wgs84.longitude;
        filled += " WGS84";
      }
      if (!filled.empty())
        out.findings.push_back({"incident/location", "location-enriched",
                                "added" + filled + " from the gazetteer (UPRN " + std::to_string(a.uprn) +
                                    ", confidence " + std::to_string(v.best->confidence).substr(0, 4) + ")"});
    }
  }
  if (!v.verified) {
    std::string why;
    for (const auto& f : v.flags) why += (why.empty() ? "" : "; ") + f;
    out.findings.push_back({"incident/location", "location-unverified",
                            "location not verified against the gazetteer" + (why.empty() ? "" : ": " + why)});
  }
  boost::json::object coverage;
  auto ids = [](const std::vector<gazetteer::AgencyArea>& areas) {
    boost::json::array a;
    for (const auto& area : areas) a.push_back(boost::json::string(area.agency_id));
    return a;
  };
  coverage["police"] = ids(v.coverage.police);
  coverage["fire"] = ids(v.coverage.fire);
  coverage["ambulance"] = ids(v.coverage.ambulance);
  o["coverage"] = std::move(coverage);
  out.json = boost::json::serialize(o);
  return out;
}

Status ensure_sample_gazetteer(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) return Status::success();
  const fs::path work = fs::path(path).parent_path() / "sample-source";
  std::error_code ec;
  fs::create_directories(work, ec);
  gazetteer::GeneratorOptions g;
  g.sample = true;
  g.out_dir = work.string();
  auto generated = gazetteer::generate_gazetteer(g);
  if (!generated) return generated.error();
  gazetteer::BuildOptions b;
  b.sources.push_back(gazetteer::SourceFile{generated->abp_csv});
  auto built = gazetteer::build_snapshot(b, path);
  if (!built) return built.error();
  spdlog::info("event=gazetteer-sample-built snapshot={} addresses={}", path, generated->addresses);
  return Status::success();
}

}  // namespace deit::hub
