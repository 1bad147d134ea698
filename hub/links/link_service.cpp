#include "hub/links/link_service.hpp"

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "hub/api_json.hpp"
#include "hub/links/curve_keys.hpp"
#include "hub/links/protocol.hpp"
#include "hub/links/zap.hpp"
#include "hub/links/zmq_io.hpp"
#include "hub/thread_name.hpp"

namespace deit::hub::links {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kMonitorEndpoint = "inproc://deit-links-monitor";

std::string peer_of_fd(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
  } else if (ss.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
  }
  return text;
}

std::string handshake_failure(std::uint32_t code) {
  switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: return "wrong mechanism";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: return "cryptographic error (wrong server key?)";
    default: return "protocol error " + std::to_string(code);
  }
}

// Text from a peer, made safe for one log line: no control characters, no quotes, bounded.
std::string loggable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == '"' ? ' ' : c);
  return out;
}

struct InFlight {
  std::string transfer;
  std::string message;
};

}  // namespace

struct LinkService::Impl : std::enable_shared_from_this<LinkService::Impl> {
  // One session per connected peer (ROUTER routing id), opened by HELLO.
  struct Session {
    std::string routing_id;
    std::string agency;
    std::string peer;
    LinkRole role = LinkRole::receive;
    std::size_t window = 1;
    std::uint64_t last_sent = 0;
    std::map<std::uint64_t, InFlight> in_flight;  // receive role: sent, not yet acknowledged
    std::size_t taking = 0;                        // deliver role: deliveries being committed
    Clock::time_point last_heard, last_sent_at;
    std::uint64_t subscription = 0;
  };

  // The hub delivering one agency's queue to a remote link endpoint.
  struct Outbound {
    Agency agency;
    void* socket = nullptr;
    enum class State { waiting, greeting, open } state = State::waiting;
    std::size_t window = 1;
    std::uint64_t last_sent = 0;
    std::map<std::uint64_t, InFlight> in_flight;
    Clock::time_point last_heard, last_sent_at, retry_at, paused_until;
    int attempt = 0;
    std::uint64_t subscription = 0;
    std::chrono::milliseconds heartbeat{5000};
  };

  Hub& hub;
  const LinksConfig& cfg;
  CurveKeyPair key;
  KeyRing keys;
  CodecLimits limits;
  void* ctx = nullptr;
  void* router = nullptr;
  void* zap = nullptr;
  std::string bound;
  int wake_fd = -1;
  std::thread loop_thread, monitor_thread;
  std::atomic<bool> stopping{false};
  bool started = false;

  std::mutex mutex;
  std::deque<std::function<void()>> posted;

  std::unordered_map<std::string, Session> sessions;
  std::unordered_map<std::string, std::size_t> requests_in_flight;  // SUBMIT/DECIDE awaiting commit, per connection
  std::vector<std::unique_ptr<Outbound>> outbound;
  std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t next_session_number = 1;

  explicit Impl(Hub& h) : hub(h), cfg(h.config().links) {
    limits.max_body_bytes = h.config().limits.max_body_bytes;
  }

  // ------------------------------------------------------------------ cross-thread

  // Runs `work` on the link thread. Safe from any thread, also after stop (then dropped).
  void post(std::function<void()> work) {
    {
      std::lock_guard lock(mutex);
      posted.push_back(std::move(work));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  template <typename T>
  std::function<void(Result<T>)> on_link_thread(std::function<void(Impl&, Result<T>)> then) {
    return [weak = weak_from_this(), then = std::move(then)](Result<T> r) mutable {
      auto self = weak.lock();
      if (!self) return;
      self->post([weak, then = std::move(then), r = std::move(r)]() mutable {
        if (auto s = weak.lock()) then(*s, std::move(r));
      });
    };
  }

  std::function<void()> notifier() {
    return [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->post([weak] {
          if (auto s = weak.lock()) s->pump_all();
        });
    };
  }

  // ------------------------------------------------------------------ start / stop

  Status start() {
    if (!cfg.enabled()) return Status::success();
    auto pair = read_key_pair(cfg.key_file);
    if (!pair) return Error::make("links", "cannot load the hub's CURVE key: " + pair.error().describe(), "links.key");
    key = *pair;
    keys = KeyRing::from_config(hub.config());
    if (!zmq_has("curve")) return Error::make("links", "this libzmq was built without CURVE support", "links");
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) return Error::make("links", std::string("eventfd: ") + std::strerror(errno));
    ctx = zmq_ctx_new();
    if (!cfg.listen.empty()) {
      if (auto s = open_listener(); !s) {
        close_sockets();
        return s;
      }
    }
    for (const auto& a : hub.config().agencies) {
      if (a.delivery != DeliveryMode::link) continue;
      auto o = std::make_unique<Outbound>();
      o->agency = a;
      o->retry_at = Clock::now();
      o->subscription = hub.dispatcher().subscribe(a.id, notifier());
      outbound.push_back(std::move(o));
    }
    started = true;
    loop_thread = std::thread([self = shared_from_this()] {
      name_this_thread("deit-links");
      self->run();
    });
    if (!cfg.listen.empty())
      spdlog::info("event=links-listening endpoint={} public_key={} admitted_keys={}", bound, key.public_key, keys.size());
    for (const auto& o : outbound)
      spdlog::info("event=link-configured agency={} endpoint={}", o->agency.id, o->agency.endpoint);
    return Status::success();
  }

  Status open_listener() {
    // The ZAP handler must be bound before any CURVE server socket takes connections.
    zap = zmq_socket(ctx, ZMQ_REP);
    set_int(zap, ZMQ_LINGER, 0);
    if (zmq_bind(zap, kZapEndpoint) != 0)
      return Error::make("links", std::string("cannot bind the ZAP handler: ") + zmq_strerror(zmq_errno()));
    router = zmq_socket(ctx, ZMQ_ROUTER);
    set_int(router, ZMQ_CURVE_SERVER, 1);
    set_string(router, ZMQ_CURVE_SECRETKEY, key.secret_key);
    set_string(router, ZMQ_ZAP_DOMAIN, std::string(kZapDomain));
    set_int(router, ZMQ_ROUTER_MANDATORY, 1);  // a send to a vanished peer fails instead of vanishing
    set_int(router, ZMQ_LINGER, 200);
    set_int(router, ZMQ_HANDSHAKE_IVL, 10'000);
    // Transport heartbeats close dead TCP connections even while the application is busy.
    set_int(router, ZMQ_HEARTBEAT_IVL, static_cast<int>(cfg.heartbeat.count()));
    set_int(router, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(cfg.heartbeat_timeout.count()));
    const std::int64_t max_message = static_cast<std::int64_t>(limits.max_body_bytes) + 64 * 1024;
    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message);
    // Refusals before ZAP (a peer without CURVE) are only visible to a socket monitor.
    if (zmq_socket_monitor(router, kMonitorEndpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
      return Error::make("links", std::string("cannot monitor the listener: ") + zmq_strerror(zmq_errno()));
    void* monitor = zmq_socket(ctx, ZMQ_PAIR);
    set_int(monitor, ZMQ_LINGER, 0);
    zmq_connect(monitor, kMonitorEndpoint);
    monitor_thread = std::thread([self = shared_from_this(), monitor] {
      name_this_thread("deit-links-mon");
      self->watch_handshakes(monitor);
    });
    std::string endpoint = cfg.listen;
    if (endpoint.size() > 2 && endpoint.compare(endpoint.size() - 2, 2, ":0") == 0)
      endpoint.replace(endpoint.size() - 1, 1, "*");
    if (zmq_bind(router, endpoint.c_str()) != 0)
      return Error::make("listen", "cannot listen on " + cfg.listen + ": " + zmq_strerror(zmq_errno()), "links.listen");
    char last[256] = {0};
    std::size_t size = sizeof last;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, last, &size);
    bound = last;
    return Status::success();
  }

  void stop() {
    if (!started || stopping.exchange(true)) return;
    post([] {});
    if (loop_thread.joinable()) loop_thread.join();
    close_sockets();
  }

  void close_sockets() {
    if (router) zmq_socket_monitor(router, nullptr, 0);
    for (void** s : {&router, &zap}) {
      if (*s) zmq_close(*s);
      *s = nullptr;
    }
    if (ctx) zmq_ctx_shutdown(ctx);  // ends the monitor thread's blocking receive
    if (monitor_thread.joinable()) monitor_thread.join();
    if (ctx) zmq_ctx_term(ctx);
    ctx = nullptr;
    if (wake_fd >= 0) ::close(wake_fd);
    wake_fd = -1;
  }

  // ------------------------------------------------------------------ the link thread

  void run() {
    while (!stopping) {
      std::vector<zmq_pollitem_t> items;
      items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
      if (router) {
        items.push_back({zap, 0, ZMQ_POLLIN, 0});
        items.push_back({router, 0, ZMQ_POLLIN, 0});
      }
      const std::size_t first_outbound = items.size();
      std::vector<Outbound*> polled;
      for (auto& o : outbound) {
        if (!o->socket) continue;
        items.push_back({o->socket, 0, ZMQ_POLLIN, 0});
        polled.push_back(o.get());
      }
      const long timeout = std::max<long>(10, std::min<long>(cfg.heartbeat.count() / 4, 250));
      if (zmq_poll(items.data(), static_cast<int>(items.size()), timeout) < 0) {
        if (zmq_errno() == ETERM) break;
        continue;
      }
      if (items[0].revents & ZMQ_POLLIN) {
        std::uint64_t n = 0;
        [[maybe_unused]] auto r = ::read(wake_fd, &n, sizeof n);
      }
      run_posted();
      if (router) {
        if (items[1].revents & ZMQ_POLLIN) answer_zap();
        if (items[2].revents & ZMQ_POLLIN) {
          // Bounded, so one busy peer cannot starve the timers and the outbound links.
          for (int i = 0; i < 64 && !stopping; ++i)
            if (!take_from_router()) break;
        }
      }
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (!(items[first_outbound + i].revents & ZMQ_POLLIN)) continue;
        for (int k = 0; k < 64 && polled[i]->socket; ++k)
          if (!take_from_outbound(*polled[i])) break;
      }
      tick();
    }
    // Orderly end: every peer hears BYE; whatever it has not acknowledged stays pending.
    for (auto it = sessions.begin(); it != sessions.end();) {
      send_to(it->second.routing_id, Bye{});
      auto next = std::next(it);
      close_session(it->first, "hub stopping", false);
      it = next;
    }
    for (auto& o : outbound) {
      if (o->socket && o->state == Outbound::State::open) send_frames(o->socket, encode(Bye{}));
      close_outbound(*o, "hub stopping", false);
      hub.dispatcher().unsubscribe(o->subscription);
    }
  }

  void run_posted() {
    std::deque<std::function<void()>> work;
    {
      std::lock_guard lock(mutex);
      work.swap(posted);
    }
    for (auto& w : work) w();
  }

  // ------------------------------------------------------------------ admission

  void answer_zap() {
    Received request;
    if (receive_frames(zap, request) != 0) return;
    const ZapDecision d = decide_zap(request.frames, keys);
    send_frames(zap, d.reply);
    if (d.admitted) {
      spdlog::debug("event=link-admitted agency={} peer={}", d.agency, d.peer);
    } else {
      spdlog::warn("event=link-refused peer={} reason=\"{}\" mechanism={} key={}", d.peer.empty() ? "unknown" : d.peer,
                   d.reason, d.mechanism.empty() ? "-" : d.mechanism, d.key.empty() ? "-" : d.key);
    }
  }

  // Runs on its own thread so that a connection's address is read while it still exists.
  void watch_handshakes(void* monitor) {
    std::map<int, std::string> peers;  // fd -> address, from ACCEPTED
    std::string failure;              // a handshake failure waiting for its DISCONNECTED
    for (;;) {
      Received event;
      zmq_pollitem_t item{monitor, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, -1) < 0) {
        if (zmq_errno() == EINTR) continue;
        break;  // ETERM at shutdown
      }
      if (receive_frames(monitor, event) != 0 || event.frames.empty() || event.frames[0].size() < 6) continue;
      std::uint16_t id = 0;
      std::uint32_t value = 0;
      std::memcpy(&id, event.frames[0].data(), 2);
      std::memcpy(&value, event.frames[0].data() + 2, 4);
      if (id == ZMQ_EVENT_ACCEPTED) {
        peers[static_cast<int>(value)] = peer_of_fd(static_cast<int>(value));
      } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        if (failure.empty()) failure = handshake_failure(value);
      } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        // Often the peer noticed the mismatch first and hung up.
        if (failure.empty()) failure = "handshake failed: the peer closed it (no CURVE, or a wrong server key?)";
      } else if (id == ZMQ_EVENT_DISCONNECTED) {
        const auto it = peers.find(static_cast<int>(value));
        std::string peer = it == peers.end() || it->second.empty() ? "unknown" : it->second;
        if (it != peers.end()) peers.erase(it);
        // libzmq reports the failure and then the disconnect of the same connection.
        if (!failure.empty()) spdlog::warn("event=link-refused peer={} reason=\"{}\"", peer, failure);
        failure.clear();
      }
    }
    zmq_close(monitor);
  }

  // ------------------------------------------------------------------ listener traffic

  bool send_to(const std::string& routing_id, const Message& m) {
    const int rc = send_frames(router, encode(m), &routing_id);
    if (rc == 0) {
      if (auto it = sessions.find(routing_id); it != sessions.end()) it->second.last_sent_at = Clock::now();
      return true;
    }
    if (rc == EHOSTUNREACH) close_session(routing_id, "peer disconnected", true);
    return false;
  }

  void refuse_frame(const std::string& routing_id, const std::string& agency, const std::string& peer, const Error& e) {
    spdlog::warn("event=link-frame-refused agency={} peer={} rule={} field=\"{}\" reason=\"{}\"", agency, peer, e.rule,
                 e.field, e.message);
    send_to(routing_id, Failure{e});
  }

  // Returns false when nothing was waiting.
  bool take_from_router() {
    Received in;
    if (receive_frames(router, in) != 0) return false;
    if (in.frames.empty()) return true;
    const std::string routing_id = in.frames.front();
    in.frames.erase(in.frames.begin());
    const std::string& agency = in.user_id;
    if (agency.empty() || !hub.config().find_agency(agency)) {
      // Cannot happen while ZAP admits only configured keys; never act without an identity.
      spdlog::error("event=link-frame-refused peer={} reason=\"message without an admitted identity\"", in.peer_address);
      return true;
    }
    hub.seen(agency, now_ms());  // the agency's link is up (buddy arrangements watch this)
    auto session = sessions.find(routing_id);
    if (session != sessions.end()) session->second.last_heard = Clock::now();
    auto decoded = decode(in.frames, limits);
    if (!decoded) {
      refuse_frame(routing_id, agency, in.peer_address, decoded.error());
      return true;
    }
    Message& m = *decoded;
    if (auto* h = std::get_if<Hello>(&m)) {
      open_session(routing_id, agency, in.peer_address, *h);
    } else if (auto* a = std::get_if<Ack>(&m)) {
      // Acknowledgements need no session: the CURVE key says whose they are.
      acknowledge(agency, std::move(a->seqs));
    } else if (auto* s = std::get_if<Submit>(&m)) {
      submit(routing_id, agency, in.peer_address, std::move(*s));
    } else if (auto* d = std::get_if<Decide>(&m)) {
      decide(routing_id, agency, std::move(*d));
    } else if (std::holds_alternative<Ping>(m)) {
      if (session == sessions.end()) {
        send_to(routing_id, Failure{Error::make("session", "no open session on this connection; send HELLO", "frame[0]")});
      } else {
        send_to(routing_id, Pong{});
      }
    } else if (std::holds_alternative<Pong>(m)) {
      // last_heard is already updated
    } else if (auto* d = std::get_if<Deliver>(&m)) {
      if (session == sessions.end()) {
        refuse_frame(routing_id, agency, in.peer_address,
                     Error::make("session", "no open session on this connection; send HELLO deliver", "frame[0]"));
      } else if (session->second.role != LinkRole::deliver) {
        refuse_frame(routing_id, agency, in.peer_address,
                     Error::make("role", "DELIVER needs a session opened with HELLO deliver", "frame[0]"));
      } else {
        take_delivery(session->second, std::move(*d));
      }
    } else if (auto* r = std::get_if<Refuse>(&m)) {
      // A connector that cannot take a delivery leaves it unacknowledged; it stays in
      // flight until the session is opened again or it is dead-lettered.
      spdlog::warn("event=link-delivery-refused agency={} delivery={} rule={} reason=\"{}\"", agency, r->seq,
                   loggable(r->problem.rule), loggable(r->problem.message));
      hub.store().record_attempt(r->seq, "refused by the connector: " + r->problem.describe());
    } else if (std::holds_alternative<Bye>(m)) {
      if (session != sessions.end()) close_session(routing_id, "peer said BYE", false);
    } else if (auto* f = std::get_if<Failure>(&m)) {
      spdlog::warn("event=link-peer-error agency={} peer={} rule={} reason=\"{}\"", agency, in.peer_address,
                   loggable(f->problem.rule), loggable(f->problem.message));
    } else {
      refuse_frame(routing_id, agency, in.peer_address,
                   Error::make("frame", std::string(command_of(m)) + " is sent by the listener, not to it", "frame[0]"));
    }
    return true;
  }

  void open_session(const std::string& routing_id, const std::string& agency, const std::string& peer, const Hello& h) {
    if (sessions.count(routing_id)) close_session(routing_id, "HELLO again", true);
    if (sessions.size() >= hub.config().limits.max_connections) {
      refuse_frame(routing_id, agency, peer, Error::make("limit", "too many link sessions", "frame[0]"));
      return;
    }
    Session s;
    s.routing_id = routing_id;
    s.agency = agency;
    s.peer = peer;
    s.role = h.role;
    s.window = static_cast<std::size_t>(std::min<std::uint64_t>(h.window, cfg.window));
    if (h.role == LinkRole::deliver) s.window = cfg.window;
    s.last_heard = s.last_sent_at = Clock::now();
    if (h.role == LinkRole::receive) s.subscription = hub.dispatcher().subscribe(agency, notifier());
    const std::size_t window = s.window;
    sessions.emplace(routing_id, std::move(s));
    spdlog::info("event=link-opened agency={} peer={} role={} window={} pending={}", agency, peer, to_string(h.role),
                 window, hub.dispatcher().pending_count(agency));
    send_to(routing_id, Welcome{agency, window, static_cast<std::uint64_t>(cfg.heartbeat.count())});
    if (auto it = sessions.find(routing_id); it != sessions.end()) pump(it->second);
  }

  void close_session(const std::string& routing_id, const std::string& reason, bool warn) {
    auto it = sessions.find(routing_id);
    if (it == sessions.end()) return;
    Session& s = it->second;
    if (s.subscription) hub.dispatcher().unsubscribe(s.subscription);
    hub.seen(s.agency, now_ms());  // link-down time counts from here
    const auto level = warn ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "event=link-closed agency={} peer={} role={} reason=\"{}\" unacknowledged={}", s.agency, s.peer,
                to_string(s.role), reason, s.in_flight.size());
    sessions.erase(it);
  }

  // Sends what the window allows, in sequence order.
  void pump(Session& s) {
    if (s.role != LinkRole::receive) return;
    while (s.in_flight.size() < s.window) {
      auto batch = hub.dispatcher().pending_after(s.agency, s.last_sent, s.window - s.in_flight.size());
      if (batch.empty()) return;
      for (const auto& d : batch) {
        const std::string routing_id = s.routing_id;
        const int rc = send_frames(
            router,
            encode(Deliver{d.seq, d.transfer_id, d.message_id, d.kind, d.content_type, d.payload ? *d.payload : ""}),
            &routing_id);
        if (rc == EHOSTUNREACH) {
          close_session(routing_id, "peer disconnected", true);
          return;
        }
        if (rc != 0) return;  // the peer's queue is full: the window refills it later
        s.in_flight[d.seq] = InFlight{d.transfer_id, d.message_id};
        s.last_sent = d.seq;
        s.last_sent_at = Clock::now();
      }
    }
  }

  void pump_all() {
    std::vector<std::string> ids;
    for (auto& [id, s] : sessions) ids.push_back(id);
    for (const auto& id : ids)
      if (auto it = sessions.find(id); it != sessions.end()) pump(it->second);
    for (auto& o : outbound) pump(*o);
  }

  // The acknowledged deliveries leave the window at once; the store commit follows, and
  // until it has, the dispatcher still holds them, so a failed commit means redelivery.
  void acknowledge(const std::string& agency, std::vector<std::uint64_t> seqs) {
    std::map<std::uint64_t, InFlight> acked;
    for (auto& [id, s] : sessions) {
      if (s.agency != agency) continue;
      for (auto seq : seqs) {
        if (auto f = s.in_flight.find(seq); f != s.in_flight.end()) {
          acked[seq] = f->second;
          s.in_flight.erase(f);
        }
      }
    }
    commit_acks(agency, std::move(seqs), std::move(acked), [](Impl& self) { self.pump_all(); });
  }

  // Records acknowledgements through the hub (the same path as HTTPS), logs each delivery,
  // then runs `after` on the link thread.
  void commit_acks(const std::string& agency, std::vector<std::uint64_t> seqs, std::map<std::uint64_t, InFlight> acked,
                   std::function<void(Impl&)> after) {
    hub.acknowledge(agency, std::move(seqs),
                    on_link_thread<AckOutcome>([agency, acked = std::move(acked), after = std::move(after)](
                                                   Impl& self, Result<AckOutcome> r) {
                      if (!r) {
                        spdlog::error("event=link-ack-failed agency={} reason=\"{}\"", agency, r.error().describe());
                        return;
                      }
                      for (auto seq : r->acknowledged) {
                        auto f = acked.find(seq);
                        spdlog::info("event=delivered transfer={} message={} agency={} delivery={} via=link",
                                     f == acked.end() ? "-" : f->second.transfer,
                                     f == acked.end() ? "-" : f->second.message, agency, seq);
                      }
                      after(self);
                    }));
  }

  // A connection may pipeline requests, but only a window's worth may wait for the store.
  bool admit_request(const std::string& routing_id, const std::string& request_id) {
    std::size_t& n = requests_in_flight[routing_id];
    if (n >= cfg.window) {
      send_to(routing_id, Reply{request_id, "refused",
                                problem_json(Error::make("limit", "more than " + std::to_string(cfg.window) +
                                                                      " requests waiting on this link; wait for their results"))});
      return false;
    }
    ++n;
    return true;
  }
  void request_done(const std::string& routing_id) {
    auto it = requests_in_flight.find(routing_id);
    if (it != requests_in_flight.end() && --it->second == 0) requests_in_flight.erase(it);
  }

  void submit(const std::string& routing_id, const std::string& agency, const std::string& peer, Submit s) {
    const Identity who{agency, "", "", {Role::operator_role}};
    auto prepared = hub.prepare_submit(who, s.body, s.content_type);
    if (!prepared) {
      const Error& e = prepared.error();
      spdlog::warn("event=refused agency={} rule={} field=\"{}\" line={} column={} reason=\"{}\" via=link", agency,
                   e.rule, e.field, e.line, e.column, e.message);
      send_to(routing_id, Reply{s.request_id, "refused", problem_json(e)});
      return;
    }
    const std::string message_id = prepared->message.message_id;
    spdlog::info("event=received sender={} message={} type={} receivers={} via=link peer={}", agency, message_id,
                 model::to_string(prepared->message.type), prepared->targets.size(), peer);
    std::vector<std::string> findings;
    for (const auto& t : prepared->targets) findings.push_back(t.findings_json);
    if (!admit_request(routing_id, s.request_id)) return;
    hub.commit_submit(std::move(prepared).value(),
                      on_link_thread<SubmitOutcome>([routing_id, request = s.request_id, message_id, findings](
                                                        Impl& self, Result<SubmitOutcome> r) {
                        self.request_done(routing_id);
                        if (!r) {
                          self.send_to(routing_id, Reply{request, "refused", problem_json(r.error())});
                          return;
                        }
                        json::array transfers;
                        for (std::size_t i = 0; i < r->transfers.size(); ++i) {
                          json::object t{{"id", r->transfers[i].first}, {"receiver", r->transfers[i].second}};
                          if (i < findings.size() && !r->duplicate) t["findings"] = json::parse(findings[i]);
                          transfers.push_back(std::move(t));
                        }
                        const char* status = r->duplicate ? "duplicate" : "received";
                        json::object body{{"status", status}, {"message", message_id}, {"transfers", std::move(transfers)}};
                        self.send_to(routing_id, Reply{request, status, json::serialize(body)});
                      }));
  }

  void decide(const std::string& routing_id, const std::string& agency, Decide d) {
    DecisionRequest request{agency, d.transfer, d.accept, d.reason,
                            d.operator_name.empty() ? agency : agency + "/" + d.operator_name};
    if (!admit_request(routing_id, d.request_id)) return;
    hub.decide(std::move(request),
               on_link_thread<DecisionOutcome>([routing_id, id = d.request_id](Impl& self, Result<DecisionOutcome> r) {
                 self.request_done(routing_id);
                 if (!r) {
                   self.send_to(routing_id, Reply{id, "refused", problem_json(r.error())});
                   return;
                 }
                 json::object body = transfer_json(r->transfer);
                 body["unchanged"] = r->unchanged;
                 self.send_to(routing_id, Reply{id, "decided", json::serialize(body)});
               }));
  }

  // A hub in mode link delivers here: an incident is submitted as if its agency had sent
  // it; a status carries the remote receiver's decision on a transfer made here. Either
  // is acknowledged only after the commit; what cannot be taken is refused with the reason.
  void take_delivery(Session& s, Deliver d) {
    const std::string routing_id = s.routing_id, agency = s.agency;
    if (s.taking >= s.window) {
      send_to(routing_id, Refuse{d.seq, Error::make("window", "more deliveries in flight than the window allows", "frame[1]")});
      return;
    }
    auto refuse = [&](const Error& e) {
      spdlog::warn("event=refused agency={} delivery={} rule={} field=\"{}\" line={} column={} reason=\"{}\" via=link",
                   agency, d.seq, e.rule, e.field, e.line, e.column, e.message);
      send_to(routing_id, Refuse{d.seq, e});
    };
    auto answer = [routing_id, agency, seq = d.seq](Impl& self, const Status& outcome) {
      if (auto it = self.sessions.find(routing_id); it != self.sessions.end() && it->second.taking) --it->second.taking;
      if (outcome) {
        self.send_to(routing_id, Ack{{seq}});
      } else {
        const Error& e = outcome.error();
        spdlog::warn("event=refused agency={} delivery={} rule={} reason=\"{}\" via=link", agency, seq, e.rule, e.message);
        self.send_to(routing_id, Refuse{seq, e});
      }
    };
    if (d.kind == "incident") {
      const Identity who{agency, "", "", {Role::operator_role}};
      auto prepared = hub.prepare_submit(who, d.body, d.content_type);
      if (!prepared) return refuse(prepared.error());
      spdlog::info("event=received sender={} message={} type={} receivers={} via=link-delivery", agency,
                   prepared->message.message_id, model::to_string(prepared->message.type), prepared->targets.size());
      ++s.taking;
      hub.commit_submit(std::move(prepared).value(),
                        on_link_thread<SubmitOutcome>([answer](Impl& self, Result<SubmitOutcome> r) {
                          answer(self, r ? Status::success() : Status(r.error()));
                        }));
      return;
    }
    // kind == "status": {"transfer":..,"state":..,"reason":..,"by":..}
    boost::system::error_code ec;
    json::value v = json::parse(d.body, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    auto field = [&](const char* name) -> std::string {
      const json::value* x = o ? o->if_contains(name) : nullptr;
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    if (!o) return refuse(Error::make("bad-request", "a status delivery must be a JSON object", "frame[6]"));
    const std::string state = field("state"), transfer = field("transfer"), by = field("by");
    if (state != "accepted" && state != "rejected") {
      // Information only (e.g. dead-letter at the far end): recorded in the log, taken.
      spdlog::warn("event=link-status agency={} transfer={} state={} reason=\"{}\"", agency, loggable(transfer),
                   loggable(state), loggable(field("reason")));
      send_to(routing_id, Ack{{d.seq}});
      return;
    }
    if (transfer.empty()) return refuse(Error::make("required", "a status names its transfer", "frame[6]/transfer"));
    // The actor is always attributable to the agency the key belongs to.
    const std::string actor = by.rfind(agency, 0) == 0 ? by : agency + (by.empty() ? "" : "/" + by);
    ++s.taking;
    hub.decide(DecisionRequest{agency, transfer, state == "accepted", field("reason"), actor},
               on_link_thread<DecisionOutcome>([answer](Impl& self, Result<DecisionOutcome> r) {
                 answer(self, r ? Status::success() : Status(r.error()));
               }));
  }

  // ------------------------------------------------------------------ outbound links

  void connect_outbound(Outbound& o) {
    o.socket = zmq_socket(ctx, ZMQ_DEALER);
    set_string(o.socket, ZMQ_CURVE_SERVERKEY, o.agency.server_key);
    set_string(o.socket, ZMQ_CURVE_PUBLICKEY, key.public_key);
    set_string(o.socket, ZMQ_CURVE_SECRETKEY, key.secret_key);
    set_int(o.socket, ZMQ_LINGER, 200);
    set_int(o.socket, ZMQ_RECONNECT_IVL, 200);
    set_int(o.socket, ZMQ_HEARTBEAT_IVL, static_cast<int>(cfg.heartbeat.count()));
    set_int(o.socket, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(cfg.heartbeat_timeout.count()));
    const std::int64_t max_message = static_cast<std::int64_t>(limits.max_body_bytes) + 64 * 1024;
    zmq_setsockopt(o.socket, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message);
    if (zmq_connect(o.socket, o.agency.endpoint.c_str()) != 0) {
      fail_outbound(o, std::string("connect: ") + zmq_strerror(zmq_errno()));
      return;
    }
    // Queued until the connection is up; the WELCOME must follow within the timeout.
    send_frames(o.socket, encode(Hello{LinkRole::deliver, cfg.window}));
    o.state = Outbound::State::greeting;
    o.last_heard = o.last_sent_at = Clock::now();
  }

  void close_outbound(Outbound& o, const std::string& reason, bool warn) {
    if (!o.socket) return;
    if (o.state == Outbound::State::open) {
      const auto level = warn ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "event=link-closed agency={} endpoint={} direction=out reason=\"{}\" unacknowledged={}",
                  o.agency.id, o.agency.endpoint, reason, o.in_flight.size());
    }
    zmq_close(o.socket);
    o.socket = nullptr;
    o.state = Outbound::State::waiting;
    o.in_flight.clear();
    o.last_sent = 0;
  }

  void fail_outbound(Outbound& o, const std::string& error) {
    close_outbound(o, error, true);
    const auto delay = retry_delay(o.attempt++, hub.config().delivery.retry_initial, hub.config().delivery.retry_max, rng);
    o.retry_at = Clock::now() + delay;
    spdlog::warn("event=link-failed agency={} endpoint={} attempt={} retry_in_ms={} error=\"{}\"", o.agency.id,
                 o.agency.endpoint, o.attempt, delay.count(), error);
  }

  bool take_from_outbound(Outbound& o) {
    Received in;
    if (receive_frames(o.socket, in) != 0) return false;
    o.last_heard = Clock::now();
    auto decoded = decode(in.frames, limits);
    if (!decoded) {
      spdlog::warn("event=link-frame-refused agency={} endpoint={} rule={} field=\"{}\" reason=\"{}\"", o.agency.id,
                   o.agency.endpoint, decoded.error().rule, decoded.error().field, decoded.error().message);
      send_frames(o.socket, encode(Failure{decoded.error()}));
      return true;
    }
    Message& m = *decoded;
    if (auto* w = std::get_if<Welcome>(&m)) {
      o.window = static_cast<std::size_t>(std::min<std::uint64_t>(w->window, cfg.window));
      o.heartbeat = std::chrono::milliseconds(std::min<std::uint64_t>(w->heartbeat_ms, cfg.heartbeat.count()));
      o.state = Outbound::State::open;
      o.attempt = 0;
      o.last_sent = 0;
      o.in_flight.clear();
      spdlog::info("event=link-opened agency={} endpoint={} direction=out remote_identity={} window={} pending={}",
                   o.agency.id, o.agency.endpoint, w->agency, o.window, hub.dispatcher().pending_count(o.agency.id));
      pump(o);
    } else if (auto* a = std::get_if<Ack>(&m)) {
      acknowledge_outbound(o, std::move(a->seqs));
    } else if (auto* r = std::get_if<Refuse>(&m)) {
      // As a push endpoint's error answer: record, back off, and try again from there.
      const std::string error = "refused by " + o.agency.endpoint + ": " + r->problem.describe();
      spdlog::warn("event=push-failed transfer={} agency={} delivery={} via=link error=\"{}\"",
                   o.in_flight.count(r->seq) ? o.in_flight[r->seq].transfer : std::string("?"), o.agency.id, r->seq,
                   loggable(error));
      hub.store().record_attempt(r->seq, error);
      const auto delay = retry_delay(o.attempt++, hub.config().delivery.retry_initial, hub.config().delivery.retry_max, rng);
      o.paused_until = Clock::now() + delay;
      for (auto it = o.in_flight.lower_bound(r->seq); it != o.in_flight.end();) it = o.in_flight.erase(it);
      o.last_sent = std::min(o.last_sent, r->seq - 1);
    } else if (std::holds_alternative<Ping>(m)) {
      send_outbound(o, Pong{});
    } else if (auto* f = std::get_if<Failure>(&m)) {
      if (f->problem.rule == "session") {
        // The far end lost our session (it restarted): open it again.
        o.in_flight.clear();
        o.last_sent = 0;
        o.state = Outbound::State::greeting;
        send_outbound(o, Hello{LinkRole::deliver, cfg.window});
      } else {
        spdlog::warn("event=link-peer-error agency={} endpoint={} rule={} reason=\"{}\"", o.agency.id,
                     o.agency.endpoint, loggable(f->problem.rule), loggable(f->problem.message));
      }
    } else if (std::holds_alternative<Bye>(m)) {
      fail_outbound(o, "the remote end said BYE");
    }
    return true;
  }

  void send_outbound(Outbound& o, const Message& m) {
    if (!o.socket) return;
    if (send_frames(o.socket, encode(m)) == 0) o.last_sent_at = Clock::now();
  }

  void pump(Outbound& o) {
    if (!o.socket || o.state != Outbound::State::open || Clock::now() < o.paused_until) return;
    while (o.in_flight.size() < o.window) {
      auto batch = hub.dispatcher().pending_after(o.agency.id, o.last_sent, o.window - o.in_flight.size());
      if (batch.empty()) return;
      for (const auto& d : batch) {
        if (send_frames(o.socket, encode(Deliver{d.seq, d.transfer_id, d.message_id, d.kind, d.content_type,
                                                 d.payload ? *d.payload : ""})) != 0)
          return;
        o.in_flight[d.seq] = InFlight{d.transfer_id, d.message_id};
        o.last_sent = d.seq;
        o.last_sent_at = Clock::now();
      }
    }
  }

  void acknowledge_outbound(Outbound& o, std::vector<std::uint64_t> seqs) {
    std::map<std::uint64_t, InFlight> acked;
    for (auto seq : seqs) {
      if (auto f = o.in_flight.find(seq); f != o.in_flight.end()) {
        acked[seq] = f->second;
        o.in_flight.erase(f);
      }
    }
    const std::string agency = o.agency.id;
    commit_acks(agency, std::move(seqs), std::move(acked), [agency](Impl& self) {
      for (auto& out : self.outbound) {
        if (out->agency.id != agency) continue;
        out->attempt = 0;
        self.pump(*out);
      }
    });
  }

  // ------------------------------------------------------------------ timers

  // Drops in-flight entries that are no longer pending (dead-lettered), so they do not
  // hold the window shut.
  void forget_settled(const std::string& agency, std::map<std::uint64_t, InFlight>& in_flight) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      auto next = hub.dispatcher().pending_after(agency, it->first - 1, 1);
      if (next.empty() || next.front().seq != it->first) {
        it = in_flight.erase(it);
      } else {
        ++it;
      }
    }
  }

  Clock::time_point last_tick;

  void tick() {
    const auto now = Clock::now();
    if (now - last_tick < std::chrono::milliseconds(std::max<long>(10, cfg.heartbeat.count() / 4))) return;
    last_tick = now;
    std::vector<std::string> dead, idle;
    for (auto& [id, s] : sessions) {
      if (now - s.last_heard > cfg.heartbeat_timeout) {
        dead.push_back(id);
      } else if (now - s.last_sent_at >= cfg.heartbeat) {
        idle.push_back(id);
      }
    }
    for (const auto& id : dead) close_session(id, "heartbeat timeout", true);
    for (const auto& id : idle) send_to(id, Ping{});  // may close the session: not while iterating
    std::vector<std::string> ids;
    for (auto& [id, s] : sessions) ids.push_back(id);
    for (const auto& id : ids) {
      auto it = sessions.find(id);
      if (it == sessions.end()) continue;
      const std::size_t before = it->second.in_flight.size();
      forget_settled(it->second.agency, it->second.in_flight);
      if (it->second.in_flight.size() != before || it->second.in_flight.empty()) pump(it->second);
    }
    for (auto& o : outbound) {
      switch (o->state) {
        case Outbound::State::waiting:
          if (now >= o->retry_at && !stopping) connect_outbound(*o);
          break;
        case Outbound::State::greeting:
          if (now - o->last_sent_at > cfg.heartbeat_timeout)
            fail_outbound(*o, "no WELCOME from the remote end (is this hub's key admitted there, and server_key right?)");
          break;
        case Outbound::State::open:
          if (now - o->last_heard > cfg.heartbeat_timeout) {
            fail_outbound(*o, "heartbeat timeout");
            break;
          }
          if (now - o->last_sent_at >= o->heartbeat) send_outbound(*o, Ping{});
          forget_settled(o->agency.id, o->in_flight);
          pump(*o);
          break;
      }
    }
  }
};

LinkService::LinkService(Hub& hub) : impl_(std::make_shared<Impl>(hub)) {}
LinkService::~LinkService() { stop(); }
Status LinkService::start() { return impl_->start(); }
void LinkService::stop() {
  if (impl_) impl_->stop();
}
std::string LinkService::endpoint() const { return impl_->bound; }

}  // namespace deit::hub::links
