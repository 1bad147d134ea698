#include "hub/hub.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include <sys/stat.h>

#include "adapters/deit/deit_adapter.hpp"
#include "adapters/mapping_tables.hpp"
#include "gazetteer/builder.hpp"
#include "gazetteer/generator.hpp"
#include "gazetteer/json.hpp"
#include "hub/api_json.hpp"

namespace deit::hub {

std::string findings_to_json(const std::vector<adapters::Finding>& findings) {
  boost::json::array a;
  for (const auto& f : findings) a.push_back({{"field", f.field}, {"rule", f.rule}, {"message", f.message}});
  return boost::json::serialize(a);
}

Hub::Hub(Config config, std::shared_ptr<const adapters::Registry> adapters, std::unique_ptr<Store> store)
    : config_(std::move(config)),
      adapters_(std::move(adapters)),
      store_(std::move(store)),
      board_(config_.get().buddy),
      started_at_(now_ms()) {}

buddy::Caller Identity::as_buddy_caller() const {
  return buddy::Caller{agency, has_role(Role::business_continuity), has_role(Role::administrator)};
}

Hub::~Hub() {
  if (store_) store_->close();
}

namespace {

Status check_formats(const Config& config, const adapters::Registry& registry) {
  for (std::size_t i = 0; i < config.agencies.size(); ++i) {
    if (!registry.find(config.agencies[i].format))
      return Error::make("config", "format '" + config.agencies[i].format + "' is not one the hub knows",
                         "agencies[" + std::to_string(i) + "].format");
  }
  return Status::success();
}

}  // namespace

Result<std::unique_ptr<Hub>> Hub::create(Config config) {
  auto registry = adapters::builtin_registry();
  if (!registry) return registry.error();
  if (auto s = check_formats(config, **registry); !s) return s.error();
  if (!config.mappings_dir.empty()) {
    if (auto s = adapters::default_mapping_store()->reload(config.mappings_dir); !s) return s.error();
  }
  StoreOptions store_options;
  store_options.commit_interval = std::chrono::milliseconds(config.commit_interval_ms);
  auto store = Store::open(config.store_path, store_options);
  if (!store) return store.error();
  std::unique_ptr<Hub> hub(new Hub(std::move(config), std::move(registry).value(), std::move(store).value()));
  if (const auto& g = hub->config().gazetteer; !g.snapshot.empty()) {
    auto opened = open_gazetteer(g, true);
    if (opened) {
      const auto info = opened->handle.info();
      spdlog::info("event=gazetteer-opened snapshot={} uprns={} delta_upserts={} delta_deletes={} coordinates=\"{}\"",
                   info.path, info.uprns, info.delta_upserts, info.delta_deletes, info.coordinate_method);
      hub->use_gazetteer(std::move(opened).value());
    } else {
      // Lives first: without a gazetteer transfers still flow, flagged as unverified.
      spdlog::error("event=alert kind=gazetteer-unavailable snapshot={} reason=\"{}\"", g.snapshot,
                    opened.error().describe());
    }
  }
  auto pending = hub->store_->pending_deliveries();
  if (!pending) return pending.error();
  for (auto& d : *pending) hub->dispatcher_.enqueue(std::move(d));
  auto invocations = hub->store_->invocations(true);
  if (!invocations) return invocations.error();
  for (auto& inv : *invocations) {
    spdlog::info("event=buddy-resumed invocation={} home={} buddy={} mode={}", inv.id, inv.home, inv.buddy,
                 buddy::to_string(inv.mode));
    hub->board_.activate(std::move(inv));
  }
  auto undecided = hub->store_->undecided_transfers();
  if (!undecided) return undecided.error();
  for (const auto& t : *undecided) hub->track(t.id, t.receiver, t.grade, t.emergency || t.life_risk, t.stored_at);
  spdlog::info("event=resumed pending_deliveries={} active_invocations={} awaiting_acceptance={}",
               hub->dispatcher_.pending_total(), invocations->size(), undecided->size());
  hub->log_audit_head(true);
  hub->audit({"hub", "hub-started", AuditCategory::administration, "hub",
              boost::json::serialize(boost::json::object{{"agencies", hub->config().agencies.size()},
                                                         {"pendingDeliveries", hub->dispatcher_.pending_total()}}),
              ""});
  return hub;
}

Result<Identity> Hub::identify(const PeerCertificate& certificate) const {
  const Config& c = config();
  return identify_certificate(certificate_claims(c.agencies, c.administrators), certificate);
}

std::optional<Identity> Hub::identify(std::string_view subject_cn, std::string_view sha256_hex) const {
  auto identity = identify(PeerCertificate{std::string(subject_cn), std::string(sha256_hex), {}});
  if (!identity) return std::nullopt;
  return std::move(identity).value();
}

bool Hub::may_read(const Identity& caller, const TransferRecord& t) {
  if (caller.has_role(Role::administrator)) return true;
  // The home agency always sees the incidents partners run on its behalf.
  return !caller.agency.empty() &&
         (caller.agency == t.sender || caller.agency == t.receiver || caller.agency == t.on_behalf_of);
}

Result<SubmitRequest> Hub::prepare_submit(const Identity& caller, std::string_view body,
                                          std::string_view content_type) const {
  const Config& cfg = config();  // one version for the whole decision
  const Agency* sender = cfg.find_agency(caller.agency);
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
  m.transfer_id.clear();
  request.canonical_xml = adapters::encode_canonical(m);  // as received, before any enrichment
  LocationCheck check;
  const std::optional<gazetteer::Gazetteer> gaz = gazetteer();  // one snapshot for the whole decision
  if (gaz) {
    check = check_location(*gaz, m);
    request.location_json = check.json;
    request.location_verified = check.verified;
    decoded->findings.insert(decoded->findings.end(), check.findings.begin(), check.findings.end());
  }
  Result<std::vector<RouteTarget>> routes = Error::make("routing", "not routed");
  if (m.type == model::MessageType::create) {
    RoutingInput in;
    in.config = &cfg;
    in.sender = sender;
    in.message = &m;
    in.coverage = gaz ? &check.coverage : nullptr;
    in.location_verified = check.verified;
    in.board = &board_;
    in.unavailable = [this](const std::string& agency) { return unavailable(agency); };
    routes = route(in);
  } else {
    routes = follow_existing(m);  // updates go where the create went
  }
  if (!routes) return routes.error();

  std::vector<std::string> all_receivers;  // each receiver sees who else was sent the incident
  for (const RouteTarget& t : *routes) all_receivers.push_back(t.receiver);
  for (RouteTarget& t : *routes) {
    const Agency* receiver = cfg.find_agency(t.receiver);
    const adapters::Adapter* out = adapters_->find(receiver->format);
    model::IncidentMessage copy = m;
    copy.transfer_id = make_transfer_id(m.sender_agency, m.sender_reference, t.receiver);
    copy.receiving_agencies = all_receivers;
    copy.reason = t.reason;
    copy.on_behalf_of = t.on_behalf_of;
    // Information sharing rules act on the receiver's copy, before it is translated.
    const auto withheld = withheld_findings(apply_sharing_rules(
        cfg.sharing_rules, {sender->id, sender->kind}, {receiver->id, receiver->kind}, copy));
    auto encoded = out->encode(copy);
    if (!encoded)
      return Error::make("translation", "cannot translate for " + t.receiver + ": " + encoded.error().describe(),
                         encoded.error().field);
    std::vector<adapters::Finding> findings = t.findings;
    findings.insert(findings.end(), decoded->findings.begin(), decoded->findings.end());
    findings.insert(findings.end(), withheld.begin(), withheld.end());
    findings.insert(findings.end(), encoded->findings.begin(), encoded->findings.end());
    SubmitRequest::Target target{copy.transfer_id, t.receiver, std::move(encoded->content_type),
                                 std::move(encoded->bytes), findings_to_json(findings)};
    target.reason = std::string(model::to_string(t.reason));
    target.on_behalf_of = t.on_behalf_of;
    target.invocation = t.invocation;
    target.lane = t.lane;
    target.held = t.held;
    request.targets.push_back(std::move(target));
  }
  request.message = std::move(m);
  return request;
}

Result<std::vector<RouteTarget>> Hub::follow_existing(const model::IncidentMessage& m) const {
  std::vector<RouteTarget> out;
  const auto facts = incident_facts(m);
  for (const Agency& a : config().agencies) {
    if (a.id == m.sender_agency) continue;
    auto t = store_->transfer(make_transfer_id(m.sender_agency, m.sender_reference, a.id));
    if (!t || t->state == "redirected") continue;
    const bool named = m.receiving_agencies.empty() ||
                       std::find(m.receiving_agencies.begin(), m.receiving_agencies.end(), t->receiver) !=
                           m.receiving_agencies.end() ||
                       (!t->on_behalf_of.empty() && std::find(m.receiving_agencies.begin(), m.receiving_agencies.end(),
                                                              t->on_behalf_of) != m.receiving_agencies.end());
    if (!named) continue;
    RouteTarget r;
    r.receiver = t->receiver;
    r.reason = model::parse_transfer_reason(t->reason).value_or(m.reason);
    r.on_behalf_of = t->on_behalf_of;
    r.invocation = t->invocation;
    if (auto inv = board_.find_active(t->invocation); inv && t->receiver == inv->home && t->sender != inv->home) {
      // The buddy's own incident for the home agency: updates follow the create's handling.
      if (inv->mode == buddy::Mode::pass_back) {
        r.lane = facts.life_risk ? 2 : 1;
      } else {
        r.held = true;
      }
    }
    out.push_back(std::move(r));
  }
  if (out.empty())
    return Error::make("not-found", "no open transfer for sender reference '" + m.sender_reference + "'" +
                                        (m.receiving_agencies.empty() ? "" : " to the receivers named") +
                                        "; send a create first",
                       "incidentMessage/senderReference");
  return out;
}

void Hub::commit_submit(SubmitRequest request, std::function<void(Result<SubmitOutcome>)> done) {
  const std::string sender = request.message.sender_agency, message_id = request.message.message_id;
  const std::string type(model::to_string(request.message.type));
  // New transfers that wait for a decision (held ones wait for their stand-down first).
  std::vector<std::pair<std::string, std::string>> awaiting;
  if (request.message.type == model::MessageType::create)
    for (const auto& t : request.targets)
      if (!t.held) awaiting.emplace_back(t.transfer_id, t.receiver);
  const std::string grade = grade_text(request.message.incident.priority);
  const bool emergency = request.message.incident.priority.emergency || request.message.incident.priority.life_risk;
  store_->submit(std::move(request), [this, sender, message_id, type, awaiting = std::move(awaiting), grade, emergency,
                                      done = std::move(done)](Result<SubmitOutcome> r) {
    if (r) {
      if (r->duplicate) {
        spdlog::info("event=duplicate-suppressed sender={} message={} transfers={}", sender, message_id,
                     r->transfers.size());
      } else {
        const std::int64_t now = now_ms();
        for (const auto& [id, receiver] : awaiting) track(id, receiver, grade, emergency, now);
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
      untrack(t.id);
      if (!t.receiver_grade.empty())
        spdlog::info("event=regraded transfer={} sender={} receiver={} sender_grade={} grade={} rationale=\"{}\"", t.id,
                     t.sender, t.receiver, t.grade, t.receiver_grade, t.grade_rationale);
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

Result<Hub::ConfigReload> Hub::reload_config(const std::string& actor) {
  std::lock_guard lock(reload_mutex_);
  const Config& running = config();
  Result<Config> fresh = config_source_ ? config_source_()
                                        : Result<Config>(Error::make("config", "the hub has no configuration source to read again"));
  Result<ConfigChanges> changes = fresh ? plan_reload(running, *fresh) : Result<ConfigChanges>(fresh.error());
  Status valid = changes ? check_formats(*fresh, *adapters_) : Status(changes.error());
  // An invocation in progress keeps its arrangement and its agencies until it is stood down.
  for (const auto& inv : valid ? board_.active() : std::vector<buddy::Invocation>{}) {
    for (const std::string* agency : {&inv.home, &inv.buddy, &inv.secondary}) {
      if (!agency->empty() && !fresh->find_agency(*agency)) {
        valid = Error::make("config", "'" + *agency + "' takes part in invocation " + inv.id +
                                          ", which is active; stand it down before removing the agency",
                            "agencies");
        break;
      }
    }
    const bool arranged = std::any_of(fresh->buddy.begin(), fresh->buddy.end(),
                                      [&](const buddy::Arrangement& a) { return a.home == inv.home; });
    if (valid && !arranged)
      valid = Error::make("config", "invocation " + inv.id + " of " + inv.home +
                                        "'s arrangement is active; stand it down before removing the arrangement",
                          "buddy");
    if (!valid) break;
  }
  // A changed gazetteer section opens its snapshot before anything changes.
  std::optional<OpenedGazetteer> new_gazetteer;
  const bool gazetteer_changed =
      valid && std::find(changes->settings.begin(), changes->settings.end(), "gazetteer") != changes->settings.end();
  if (gazetteer_changed && !fresh->gazetteer.snapshot.empty()) {
    auto opened = open_gazetteer(fresh->gazetteer, true);
    if (opened) {
      new_gazetteer = std::move(opened).value();
    } else {
      valid = Error::make("gazetteer", "snapshot " + fresh->gazetteer.snapshot + " does not open: " + opened.error().describe(),
                          "gazetteer.snapshot");
    }
  }
  if (!valid) {
    spdlog::error("event=config-reload-failed reason=\"{}\" (the running configuration stays)", valid.error().describe());
    audit({actor, "reload-config-failed", AuditCategory::administration, "config", "{}", valid.error().describe()});
    return valid.error();
  }
  auto joined = [](const std::vector<std::string>& list) {
    std::string s;
    for (const auto& item : list) s += (s.empty() ? "" : ",") + item;
    return s.empty() ? std::string("none") : s;
  };
  const ConfigChanges& c = *changes;
  if (c.any()) {
    const bool arrangements_changed = std::find(c.settings.begin(), c.settings.end(), "buddy") != c.settings.end();
    const bool level_changed = std::find(c.settings.begin(), c.settings.end(), "log_level") != c.settings.end();
    const Config& now = config_.replace(std::move(fresh).value());
    if (arrangements_changed) board_.replace_arrangements(now.buddy);
    if (level_changed) spdlog::set_level(spdlog::level::from_str(now.log_level));
    if (gazetteer_changed) use_gazetteer(std::move(new_gazetteer));
  }
  const ConfigReload reloaded{config_generation(), c};
  const std::uint64_t generation = reloaded.generation;
  spdlog::info("event=config-reloaded generation={} added={} removed={} changed={} settings={} restart_required={}",
               generation, joined(c.added), joined(c.removed), joined(c.changed), joined(c.settings),
               joined(c.restart_required));
  for (const auto& id : c.removed) {
    // Its queue stays in the store: the deliveries go out if the agency comes back.
    if (const std::size_t pending = dispatcher_.pending_count(id))
      spdlog::warn("event=alert kind=removed-agency-has-pending agency={} pending={}", id, pending);
  }
  audit({actor, "reload-config", AuditCategory::administration, "config",
         boost::json::serialize(config_reload_json(reloaded)), ""});
  return reloaded;
}

namespace {

// Which files a gazetteer is opened from: the snapshot and its delta, each by device,
// inode, size and modification time. A rebuilt snapshot is renamed into place (a new
// inode); `deit-gazetteer update` replaces the delta.
std::string gazetteer_files(const std::string& snapshot) {
  std::string out;
  for (const std::string& path : {snapshot, snapshot + ".delta"}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      out += "absent;";
      continue;
    }
    out += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return out;
}

}  // namespace

Result<Hub::OpenedGazetteer> Hub::open_gazetteer(const GazetteerConfig& g, bool make_sample) {
  Status ready = make_sample && g.generate_sample ? ensure_sample_gazetteer(g.snapshot) : Status::success();
  if (!ready) return ready.error();
  // Identified before opening: a file replaced meanwhile differs at the next reload.
  std::string files = gazetteer_files(g.snapshot);
  gazetteer::Options options;
  options.ostn15_grid = g.ostn15_grid;
  options.boundaries = g.boundaries;
  options.border_distance_m = g.border_distance_m;
  options.verified_confidence = g.verified_confidence;
  auto opened = gazetteer::Gazetteer::open(g.snapshot, options);
  if (!opened) return opened.error();
  return OpenedGazetteer{std::move(opened).value(), g, std::move(files)};
}

void Hub::use_gazetteer(std::optional<OpenedGazetteer> opened) {
  std::lock_guard lock(gazetteer_mutex_);
  std::swap(gazetteer_, opened);
}  // the one replaced is released here, after the lock: it may unmap a large file

std::optional<gazetteer::Gazetteer> Hub::gazetteer() const {
  std::lock_guard lock(gazetteer_mutex_);
  if (!gazetteer_) return std::nullopt;
  return gazetteer_->handle;
}

Result<Hub::GazetteerReload> Hub::reload_gazetteer(const std::string& actor) {
  std::lock_guard lock(reload_mutex_);
  const GazetteerConfig& g = config().gazetteer;
  Result<GazetteerReload> out = Error::make("config", "no gazetteer snapshot is configured", "gazetteer.snapshot");
  const std::string files = gazetteer_files(g.snapshot);
  {
    std::lock_guard held(gazetteer_mutex_);
    if (gazetteer_ && gazetteer_->settings == g && gazetteer_->files == files)
      out = GazetteerReload{false, gazetteer_->handle.info()};
  }
  if (!out && !g.snapshot.empty()) {
    auto opened = open_gazetteer(g, false);  // files the administrator put there: never remade
    if (opened) {
      out = GazetteerReload{true, opened->handle.info()};
      use_gazetteer(std::move(opened).value());
    } else {
      out = Error::make("gazetteer", "snapshot " + g.snapshot + " not reloaded: " + opened.error().describe(),
                        "gazetteer.snapshot");
    }
  }
  if (!out) {
    spdlog::error("event=gazetteer-reload-failed reason=\"{}\" (the gazetteer in use stays)", out.error().describe());
    audit({actor, "reload-gazetteer-failed", AuditCategory::administration, "gazetteer", "{}", out.error().describe()});
    return out;
  }
  const auto& i = out->info;
  spdlog::info("event=gazetteer-reloaded changed={} snapshot={} uprns={} delta_upserts={} delta_deletes={}", out->changed,
               i.path, i.uprns, i.delta_upserts, i.delta_deletes);
  boost::json::object detail = gazetteer::info_json(i);
  detail["changed"] = out->changed;
  audit({actor, "reload-gazetteer", AuditCategory::administration, "gazetteer", boost::json::serialize(detail), ""});
  return out;
}

Status Hub::reload_mappings(const std::string& actor) {
  if (config().mappings_dir.empty())
    return Error::make("config", "no mappings_dir is configured; the embedded tables are in use", "mappings_dir");
  Status s = adapters::default_mapping_store()->reload(config().mappings_dir);
  if (s) {
    spdlog::info("event=mappings-reloaded dir={}", config().mappings_dir);
  } else {
    spdlog::error("event=mappings-reload-failed dir={} reason=\"{}\"", config().mappings_dir, s.error().describe());
  }
  audit({actor, s ? "reload-mappings" : "reload-mappings-failed", AuditCategory::administration, "mappings",
         boost::json::serialize(boost::json::object{{"dir", config().mappings_dir}}), s ? "" : s.error().describe()});
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
  const std::int64_t limit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config().delivery.dead_letter_after).count();
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
                             std::to_string(config().delivery.dead_letter_after.count()) + " s";
  store_->dead_letter(seqs, reason, [this, seqs](Result<std::vector<Delivery>> r) {
    if (r) {
      dispatcher_.remove(seqs);
      for (auto& d : *r) dispatcher_.enqueue(d);
    }
    sweeping_ = false;
  });
}

void Hub::sweep_retention(std::int64_t now) {
  if (config().retention_days <= 0) return;
  RetentionRequest request;
  {
    std::lock_guard lock(retention_mutex_);
    if (retention_running_ || now < retention_next_at_) return;
    retention_running_ = true;
    request.after = retention_cursor_;
  }
  request.ended_before = now - std::int64_t{config().retention_days} * 24 * 3600 * 1000;
  request.reason = "retention: ended more than " + std::to_string(config().retention_days) + " days ago";
  std::string reason = request.reason;
  store_->erase_ended(std::move(request), [this, now, reason = std::move(reason)](Result<RetentionOutcome> r) {
    if (r) {
      for (const auto& id : r->erased) spdlog::info("event=erased transfer={} by=\"hub\" reason=\"{}\"", id, reason);
      for (const auto& id : r->skipped)
        spdlog::warn("event=retention-skipped transfer={} reason=\"a delivery is still pending\"", id);
    } else {
      spdlog::error("event=retention-failed error=\"{}\"", r.error().describe());
    }
    std::lock_guard lock(retention_mutex_);
    if (r) retention_cursor_ = r->next;
    retention_next_at_ = r && r->more ? 0 : now + 10 * 60 * 1000;
    retention_running_ = false;
  });
}

// ---------------------------------------------------------------- routing and buddy

namespace {

std::string make_invocation_id(std::int64_t now) {
  static std::atomic<std::uint32_t> counter{0};
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[48];
  std::snprintf(buf, sizeof buf, "INV-%lld-%04x%02x", static_cast<long long>(now / 1000),
                static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(counter++ & 0xff));
  return buf;
}

// Later messages of one incident, merged onto the create: new log entries, persons,
// vehicles and hazards appended; status, summary and outcome replaced when given.
void merge_update(model::Incident& into, const model::Incident& update) {
  if (!update.type_summary.empty()) into.type_summary = update.type_summary;
  if (!update.status.empty()) into.status = update.status;
  if (update.outcome) into.outcome = update.outcome;
  auto append_new = [](auto& to, const auto& from) {
    for (const auto& x : from)
      if (std::find(to.begin(), to.end(), x) == to.end()) to.push_back(x);
  };
  append_new(into.persons, update.persons);
  append_new(into.vehicles, update.vehicles);
  append_new(into.hazards, update.hazards);
  append_new(into.log, update.log);
}

}  // namespace

Result<SubmitRequest> Hub::derive(const TransferRecord& source, const Derived& spec) const {
  const adapters::Adapter* canonical = adapters_->find("deit");
  const Config& cfg = config();
  const Agency* receiver = cfg.find_agency(spec.receiver);
  if (!canonical || !receiver) return Error::make("config", "cannot derive a transfer for " + spec.receiver, "receiver");
  auto bodies = store_->incident_messages(source.sender, source.sender_reference);
  if (!bodies) return bodies.error();
  if (bodies->empty()) return Error::make("not-found", "no stored message for transfer " + source.id, "transfer");
  std::optional<model::IncidentMessage> merged;
  for (const std::string& body : *bodies) {
    auto decoded = canonical->decode(body);
    if (!decoded) return Error::make("store", "stored message of " + source.id + " does not decode: " + decoded.error().describe());
    if (!merged) {
      merged = std::move(decoded->message);
    } else {
      merge_update(merged->incident, decoded->message.incident);
    }
  }
  model::IncidentMessage m = std::move(*merged);
  if (spec.full_log) {
    // The hub's own record of the incident's journey, so the home agency sees all of it.
    auto events = store_->history(source.id);
    if (events)
      for (const auto& e : *events)
        m.incident.log.push_back(model::LogEntry{format_time_ms(e.at), "deit-hub",
                                                 e.event + " (" + e.actor + ")" + (e.detail.empty() || e.detail.front() == '[' || e.detail.front() == '{' ? "" : ": " + e.detail),
                                                 false});
    if (!source.receiver_grade.empty())
      m.incident.log.push_back(model::LogEntry{format_time_ms(now_ms()), source.receiver,
                                               "re-graded " + source.receiver_grade + ": " + source.grade_rationale, false});
  }
  m.message_id = spec.message_id;
  m.type = model::MessageType::create;
  m.sequence = 0;
  m.sender_agency = spec.sender;
  m.receiving_agencies = {spec.receiver};
  m.sender_reference = spec.sender_reference;
  if (m.shared_reference.empty())
    m.shared_reference = source.shared_reference.empty() ? source.id : source.shared_reference;
  m.reason = spec.reason;
  m.on_behalf_of = spec.on_behalf_of;
  m.sent = format_time_ms(now_ms());
  if (spec.full_log) {
    // The home agency must recognise the incident: whose it was and under which reference.
    if (m.shared_reference == source.id) m.shared_reference = source.sender_reference;
    m.incident.log.push_back(model::LogEntry{m.sent, "deit-hub",
                                             "returned to " + spec.receiver + ": " + source.sender + " reference " +
                                                 source.sender_reference + ", transfer " + source.id,
                                             false});
  }
  m.transfer_id.clear();

  SubmitRequest request;
  request.received_at = request.validated_at = now_ms();
  request.canonical_xml = adapters::encode_canonical(m);
  request.location_json = source.location_json;
  model::IncidentMessage copy = m;
  copy.transfer_id = make_transfer_id(spec.sender, spec.sender_reference, spec.receiver);
  // The stored message is the original sender's, complete: the sharing rules of that
  // sender and of the agency now passing it on both apply to the new receiver.
  std::vector<adapters::Finding> findings;
  std::vector<const Agency*> senders{cfg.find_agency(source.sender)};
  if (spec.sender != source.sender) senders.push_back(cfg.find_agency(spec.sender));
  for (const Agency* from : senders) {
    if (!from) continue;
    auto withheld = withheld_findings(apply_sharing_rules(cfg.sharing_rules, {from->id, from->kind},
                                                          {receiver->id, receiver->kind}, copy));
    findings.insert(findings.end(), withheld.begin(), withheld.end());
  }
  auto encoded = adapters_->find(receiver->format)->encode(copy);
  if (!encoded) return Error::make("translation", "cannot translate for " + spec.receiver + ": " + encoded.error().describe());
  findings.insert(findings.end(), encoded->findings.begin(), encoded->findings.end());
  SubmitRequest::Target target{copy.transfer_id, spec.receiver, std::move(encoded->content_type),
                               std::move(encoded->bytes), findings_to_json(findings)};
  target.reason = std::string(model::to_string(spec.reason));
  target.on_behalf_of = spec.on_behalf_of;
  target.invocation = spec.invocation;
  request.targets.push_back(std::move(target));
  request.message = std::move(m);
  return request;
}

bool Hub::unavailable(const std::string& agency) const {
  // A link silent for longer than the arrangement's threshold counts as down.
  const buddy::Arrangement* a = board_.arrangement_for(agency);
  const auto limit = a ? a->suggest_after_link_down : std::chrono::seconds(120);
  if (dispatcher_.subscriber_count(agency) > 0) return false;
  std::lock_guard lock(health_mutex_);
  auto it = last_seen_.find(agency);
  const std::int64_t seen_at = it == last_seen_.end() ? started_at_ : it->second;
  return now_ms() - seen_at > limit.count() * 1000;
}

void Hub::track(const std::string& transfer_id, const std::string& receiver, const std::string& grade, bool emergency,
                std::int64_t since) {
  auto limit = config().acceptance.deadline(grade, emergency);
  std::lock_guard lock(health_mutex_);
  Tracked t{receiver, since, limit ? since + limit->count() * 1000 : 0};
  if (t.due) due_.emplace(t.due, transfer_id);
  if (auto it = undecided_.find(transfer_id); it != undecided_.end()) forget_tracked(it);
  waiting_by_receiver_[receiver].emplace(since, transfer_id);
  undecided_.emplace(transfer_id, std::move(t));
}

void Hub::untrack(const std::string& transfer_id) {
  std::lock_guard lock(health_mutex_);
  if (auto it = undecided_.find(transfer_id); it != undecided_.end()) forget_tracked(it);
}

void Hub::forget_tracked(std::unordered_map<std::string, Tracked>::iterator it) {
  // Its due_ entry stays and is skipped when it comes up.
  if (auto w = waiting_by_receiver_.find(it->second.receiver); w != waiting_by_receiver_.end()) {
    w->second.erase({it->second.since, it->first});
    if (w->second.empty()) waiting_by_receiver_.erase(w);
  }
  undecided_.erase(it);
}

std::int64_t Hub::deadline_of(const std::string& transfer_id) const {
  std::lock_guard lock(health_mutex_);
  auto it = undecided_.find(transfer_id);
  return it == undecided_.end() ? 0 : it->second.due;
}

void Hub::seen(const std::string& agency, std::int64_t now) {
  std::lock_guard lock(health_mutex_);
  last_seen_[agency] = now;
}

std::vector<buddy::Suggestion> Hub::suggestions() const {
  std::lock_guard lock(health_mutex_);
  std::vector<buddy::Suggestion> out;
  for (const auto& [home, s] : suggestions_) out.push_back(s);
  return out;
}

void Hub::sweep_deadlines(std::int64_t now) {
  constexpr std::size_t kOverduePerSweep = 8;
  std::vector<std::pair<std::string, Tracked>> overdue;
  {
    std::lock_guard lock(health_mutex_);
    // At most a few a sweep (eight sweeps a second, 64 transfers): each is a store read on
    // this I/O thread and a write the next commit waits for, so a backlog of thousands
    // overdue at once must neither starve the thread nor make one long commit.
    while (!due_.empty() && due_.begin()->first <= now && overdue.size() < kOverduePerSweep) {
      auto [due, id] = *due_.begin();
      due_.erase(due_.begin());
      auto it = undecided_.find(id);
      if (it == undecided_.end() || it->second.due != due) continue;  // decided meanwhile
      overdue.emplace_back(id, it->second);
      forget_tracked(it);
    }
  }
  for (auto& [id, tracked] : overdue) {
    auto t = store_->transfer(id);
    if (!t) continue;
    const std::string waited = std::to_string((now - tracked.since) / 1000);
    OverdueRequest request;
    request.transfer_id = id;
    request.detail = "not accepted by " + t->receiver + " within " + waited + " s (grade '" + t->grade + "'" +
                     (t->emergency ? ", emergency" : "") + (t->life_risk ? ", life risk" : "") + ")";
    // Only an incident the receiver never took falls back: a buddy's own transfer stays.
    const buddy::IncidentFacts facts{t->emergency, t->life_risk, ""};
    if (auto fallback = board_.fallback(t->receiver, facts, [this](const std::string& a) { return unavailable(a); });
        fallback && fallback->to != t->sender && t->on_behalf_of.empty()) {
      if (store_->transfer(make_transfer_id(t->sender, t->sender_reference, fallback->to))) {
        request.detail += "; " + fallback->to + " already has this incident";
      } else {
        Derived spec{t->sender, fallback->to, t->sender_reference, "fallback:" + t->id,
                     model::TransferReason::buddy_overflow, t->receiver, fallback->invocation, false};
        auto derived = derive(*t, spec);
        if (derived) {
          request.fallback = std::move(derived).value();
        } else {
          spdlog::error("event=alert kind=fallback-failed transfer={} buddy={} reason=\"{}\"", id, fallback->to,
                        derived.error().describe());
        }
      }
    }
    spdlog::error("event=alert kind=acceptance-overdue transfer={} sender={} receiver={} grade={} waited_s={}{}", id,
                  t->sender, t->receiver, t->grade, waited,
                  request.fallback ? " fallback=" + request.fallback->targets[0].receiver : std::string());
    const std::string receiver = t->receiver;
    store_->overdue(std::move(request), [this, id, receiver](Result<OverdueOutcome> r) {
      finish_overdue(id, receiver, std::move(r));
    });
  }
}

void Hub::finish_overdue(const std::string& transfer_id, const std::string& receiver, Result<OverdueOutcome> r) {
  if (!r) {
    spdlog::error("event=alert kind=overdue-not-recorded transfer={} reason=\"{}\"", transfer_id, r.error().describe());
    return;
  }
  for (auto& d : r->deliveries) dispatcher_.enqueue(d);
  auto t = store_->transfer(transfer_id);
  for (const auto& [id, buddy] : r->fallback_transfers) {
    spdlog::info("event=buddy-fallback transfer={} from={} to={} new_transfer={}", transfer_id, receiver, buddy, id);
    if (t) track(id, buddy, t->grade, t->emergency || t->life_risk, now_ms());
  }
}

void Hub::check_links(std::int64_t now) {
  if (board_.arrangements().empty()) return;
  for (const buddy::Arrangement& a : board_.arrangements()) {
    std::chrono::seconds link_down{0}, oldest{0};
    const bool connected = dispatcher_.subscriber_count(a.home) > 0;
    {
      std::lock_guard lock(health_mutex_);
      if (auto it = waiting_by_receiver_.find(a.home); it != waiting_by_receiver_.end())
        oldest = std::chrono::seconds((now - it->second.begin()->first) / 1000);
    }
    if (!connected) {
      std::lock_guard lock(health_mutex_);
      auto it = last_seen_.find(a.home);
      link_down = std::chrono::seconds((now - (it == last_seen_.end() ? started_at_ : it->second)) / 1000);
    }
    auto suggestion = board_.suggest(a.home, link_down, oldest);
    std::unique_lock lock(health_mutex_);
    if (!suggestion) {
      suggestions_.erase(a.home);
      continue;
    }
    if (suggestions_.count(a.home)) continue;  // raised once per episode
    suggestions_[a.home] = *suggestion;
    lock.unlock();
    spdlog::warn("event=alert kind=buddy-suggested home={} buddy={} reason=\"{}\" auto_invoke={}", suggestion->home,
                 suggestion->buddy, suggestion->reason, suggestion->auto_invoke);
    if (suggestion->auto_invoke) {
      Identity hub_identity{"", "deit-hub", "", {Role::business_continuity, Role::administrator}};
      buddy::InvocationRequest request;
      request.home = a.home;
      request.trigger = buddy::Trigger::technical_failure;
      request.authorised_by = "deit-hub (automatic: " + suggestion->reason + ")";
      invoke(hub_identity, std::move(request), [](Result<buddy::Invocation>) {});
    }
  }
}

void Hub::invoke(const Identity& caller, buddy::InvocationRequest request,
                 std::function<void(Result<buddy::Invocation>)> done) {
  auto prepared = board_.prepare(request, caller.as_buddy_caller());
  if (!prepared) {
    spdlog::warn("event=buddy-invoke-refused home={} by={} rule={} reason=\"{}\"", request.home, caller.name(),
                 prepared.error().rule, prepared.error().message);
    done(prepared.error());
    return;
  }
  buddy::Invocation inv = std::move(prepared).value();
  inv.started_at = now_ms();
  inv.id = make_invocation_id(inv.started_at);
  store_->invoke(inv, [this, done = std::move(done)](Result<InvocationOutcome> r) {
    if (!r) {
      done(r.error());
      return;
    }
    const buddy::Invocation& inv = r->invocation;
    board_.activate(inv);
    for (auto& d : r->deliveries) dispatcher_.enqueue(d);
    {
      std::lock_guard lock(health_mutex_);
      suggestions_.erase(inv.home);
    }
    spdlog::warn("event=buddy-invoked invocation={} home={} buddy={} secondary={} trigger={} mode={} calls={} "
                 "incidents={} authorised_by=\"{}\" via={} cha_reference=\"{}\"",
                 inv.id, inv.home, inv.buddy, inv.secondary, buddy::to_string(inv.trigger), buddy::to_string(inv.mode),
                 buddy::to_string(inv.scope.calls), buddy::to_string(inv.scope.incidents), inv.authorised_by,
                 inv.authorised_via, inv.cha_reference);
    done(inv);
  });
}

namespace {

// Transfers the buddy received for the home agency and has not yet returned.
std::vector<TransferRecord> to_return(const buddy::Invocation& inv, const std::vector<TransferRecord>& all) {
  std::set<std::string> returned;
  for (const auto& t : all)
    if (t.reason == "transfer-back") returned.insert(t.sender_reference);  // its reference is the source transfer id
  std::vector<TransferRecord> out;
  for (const auto& t : all)
    if (t.on_behalf_of == inv.home && t.receiver != inv.home && t.sender != t.receiver && !returned.count(t.id))
      out.push_back(t);
  return out;
}

}  // namespace

void Hub::stand_down(const Identity& caller, const std::string& invocation_id, std::string reason,
                     std::function<void(Result<StandDownOutcome>)> done) {
  auto inv = store_->invocation(invocation_id);
  if (!inv) return done(inv.error());
  if (!inv->active()) return done(Error::make("conflict", invocation_id + " was stood down already", "invocation"));
  if (auto allowed = board_.may_stand_down(*inv, caller.as_buddy_caller()); !allowed) {
    spdlog::warn("event=buddy-stand-down-refused invocation={} by={} reason=\"{}\"", invocation_id, caller.name(),
                 allowed.error().message);
    return done(allowed.error());
  }
  if (reason.empty()) return done(Error::make("required", "say why the arrangement stands down", "reason"));
  // Stop routing to the buddy first, so nothing new arrives while the returns are prepared.
  board_.end(invocation_id);
  StandDownRequest request{invocation_id, caller.who(), std::move(reason), {}};
  auto all = store_->invocation_transfers(invocation_id);
  if (!all) {
    board_.activate(*inv);
    return done(all.error());
  }
  for (const TransferRecord& t : to_return(*inv, *all)) {
    Derived spec{t.receiver, inv->home, t.id, "transfer-back:" + t.id, model::TransferReason::transfer_back, "",
                 inv->id, true};
    auto back = derive(t, spec);
    if (!back) {
      board_.activate(*inv);
      return done(Error::make(back.error().rule, "cannot return " + t.id + ": " + back.error().message, "transfer"));
    }
    request.returns.push_back(std::move(back).value());
  }
  const buddy::Invocation before = *inv;
  store_->stand_down(std::move(request), [this, before, done = std::move(done)](Result<StandDownOutcome> r) {
    if (!r) {
      board_.activate(before);
      done(r.error());
      return;
    }
    for (auto& d : r->deliveries) dispatcher_.enqueue(d);
    const std::int64_t now = now_ms();
    for (const auto& [id, receiver] : r->returned) {
      auto t = store_->transfer(id);
      if (t) track(id, receiver, t->grade, t->emergency || t->life_risk, now);
      spdlog::info("event=transfer-back transfer={} invocation={} to={}", id, before.id, receiver);
    }
    spdlog::warn("event=buddy-stood-down invocation={} home={} buddy={} by=\"{}\" reason=\"{}\" returned={}",
                 r->invocation.id, r->invocation.home, r->invocation.buddy, r->invocation.stood_down_by,
                 r->invocation.stand_down_reason, r->returned.size());
    return_stragglers(r->invocation, 3);
    done(std::move(r));
  });
}

// A transfer routed to the buddy just before the stand-down may commit just after it:
// return those too, so every incident is accounted for.
void Hub::return_stragglers(const buddy::Invocation& inv, int attempts_left) {
  auto all = store_->invocation_transfers(inv.id);
  if (!all || attempts_left <= 0) return;
  const auto pending = to_return(inv, *all);
  if (pending.empty()) return;
  for (const TransferRecord& t : pending) {
    Derived spec{t.receiver, inv.home, t.id, "transfer-back:" + t.id, model::TransferReason::transfer_back, "", inv.id,
                 true};
    auto back = derive(t, spec);
    if (!back) continue;
    store_->submit(std::move(back).value(), [this, inv, attempts_left](Result<SubmitOutcome> r) {
      if (!r) return;
      for (auto& d : r->deliveries) dispatcher_.enqueue(d);
      for (const auto& [id, receiver] : r->transfers) {
        auto t = store_->transfer(id);
        if (t && !r->duplicate) track(id, receiver, t->grade, t->emergency || t->life_risk, now_ms());
        spdlog::info("event=transfer-back transfer={} invocation={} to={} late=true", id, inv.id, receiver);
      }
    });
  }
}

Result<InvocationReport> Hub::report(const std::string& invocation_id) {
  auto inv = store_->invocation(invocation_id);
  if (!inv) return inv.error();
  auto all = store_->invocation_transfers(invocation_id);
  if (!all) return all.error();
  InvocationReport report;
  report.invocation = std::move(inv).value();
  const auto& home = report.invocation.home;
  const bool passed_back_at_once = report.invocation.mode == buddy::Mode::pass_back;
  for (const TransferRecord& t : *all) {
    if (t.reason == "transfer-back") {
      report.returned.push_back(t);
    } else if (t.receiver == home) {
      // Logged by the buddy for the home area: with the home agency at once in pass-back
      // mode, otherwise from the stand-down.
      report.created.push_back(t);
      if (passed_back_at_once || !report.invocation.active()) report.returned.push_back(t);
    } else if (t.on_behalf_of == home) {
      report.received.push_back(t);
    }
  }
  for (const TransferRecord& t : report.returned)
    if (t.accepted_at) ++report.accepted;
  report.outstanding = report.received.size() + report.created.size() - report.accepted;
  return report;
}

void Hub::reroute(const Identity& caller, const std::string& transfer_id, std::string receiver,
                  std::function<void(Result<SubmitOutcome>)> done) {
  auto t = store_->transfer(transfer_id);
  if (!t || t->sender != caller.agency) return done(Error::make("not-found", "no transfer " + transfer_id + " sent by " + caller.agency, "transfer"));
  if (!t->rejected_at && !t->overdue_at)
    return done(Error::make("conflict", "only a rejected or overdue transfer can be re-routed; " + transfer_id + " is " + t->state,
                            "transfer"));
  const Config& cfg = config();
  const Agency* sender = cfg.find_agency(caller.agency);
  // Resolve the new receiver the same way as a new incident would be.
  model::IncidentMessage probe;
  probe.sender_agency = caller.agency;
  probe.receiving_agencies = {receiver};
  probe.reason = model::parse_transfer_reason(t->reason).value_or(model::TransferReason::assistance_request);
  probe.incident.priority.emergency = t->emergency;
  probe.incident.priority.life_risk = t->life_risk;
  gazetteer::Coverage coverage;
  bool verified = false;
  const std::optional<gazetteer::Gazetteer> gaz = gazetteer();
  if (receiver.starts_with("responsible-") && gaz) {
    auto bodies = store_->incident_messages(t->sender, t->sender_reference);
    if (bodies && !bodies->empty()) {
      auto decoded = adapters_->find("deit")->decode(bodies->front());
      if (decoded) {
        LocationCheck check = check_location(*gaz, decoded->message);
        coverage = check.coverage;
        verified = check.verified;
      }
    }
  }
  RoutingInput in;
  in.config = &cfg;
  in.sender = sender;
  in.message = &probe;
  in.coverage = gaz ? &coverage : nullptr;
  in.location_verified = verified;
  in.board = &board_;
  in.unavailable = [this](const std::string& a) { return unavailable(a); };
  auto routes = route(in);
  if (!routes) return done(routes.error());
  const RouteTarget& target = routes->front();
  if (target.receiver == t->receiver)
    return done(Error::make("routing", t->receiver + " already had this transfer; choose another receiver", "receiver"));
  Derived spec{t->sender, target.receiver, t->sender_reference, "reroute:" + t->id + ":" + target.receiver, target.reason,
               target.on_behalf_of, target.invocation, false};
  auto request = derive(*t, spec);
  if (!request) return done(request.error());
  spdlog::info("event=reroute transfer={} from={} to={} by={}", t->id, t->receiver, target.receiver, caller.name());
  commit_submit(std::move(request).value(), std::move(done));
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
  gazetteer::Verification v = gaz.verify(input);
  out.verified = v.verified;
  boost::json::object o{{"verified", v.verified}};
  boost::json::array flags;
  for (const auto& f : v.flags) flags.push_back(boost::json::string(f));
  o["flags"] = std::move(flags);
  if (v.best) {
    const auto& a = v.best->address;
    // The best candidate in the same shape as the /v1/gazetteer API answers.
    for (auto& field : gazetteer::candidate_json(*v.best)) o[field.key()] = std::move(field.value());
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
  out.coverage = std::move(v.coverage);
  o["coverage"] = std::move(coverage);
  out.json = boost::json::serialize(o);
  return out;
}

extern const std::string_view sample_boundaries_geojson;  // embedded gazetteer/data/sample_boundaries.geojson

Status ensure_sample_gazetteer(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) {
    // A sample made by an earlier version without boundaries cannot route by position: remake it.
    auto existing = gazetteer::Gazetteer::open(path);
    if (existing && existing->info().boundary_areas > 0) return Status::success();
    std::error_code removed;
    fs::remove(path, removed);
  }
  const fs::path work = fs::path(path).parent_path() / "sample-source";
  std::error_code ec;
  fs::create_directories(work, ec);
  // The sample areas' boundaries go into the snapshot: routing by position needs them.
  const fs::path boundaries = work / "sample_boundaries.geojson";
  if (FILE* f = std::fopen(boundaries.c_str(), "wb")) {
    const bool ok = std::fwrite(sample_boundaries_geojson.data(), 1, sample_boundaries_geojson.size(), f) ==
                    sample_boundaries_geojson.size();
    std::fclose(f);
    if (!ok) return Error::make("io", "cannot write " + boundaries.string());
  } else {
    return Error::make("io", "cannot write " + boundaries.string());
  }
  gazetteer::GeneratorOptions g;
  g.sample = true;
  g.out_dir = work.string();
  auto generated = gazetteer::generate_gazetteer(g);
  if (!generated) return generated.error();
  gazetteer::BuildOptions b;
  b.sources.push_back(gazetteer::SourceFile{generated->abp_csv});
  b.boundaries.push_back(boundaries.string());
  auto built = gazetteer::build_snapshot(b, path);
  if (!built) return built.error();
  spdlog::info("event=gazetteer-sample-built snapshot={} addresses={}", path, generated->addresses);
  return Status::success();
}

}  // namespace deit::hub
