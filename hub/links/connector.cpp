#include "hub/links/connector.hpp"

#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "hub/links/zmq_io.hpp"

namespace deit::hub::links {

using Clock = std::chrono::steady_clock;

struct Connector::Impl {
  void* ctx = nullptr;
  void* socket = nullptr;
  std::chrono::milliseconds heartbeat{5000};
  Clock::time_point last_heard, last_sent;
  std::deque<Deliver> deliveries;  // arrived while waiting for something else
  std::deque<Message> others;      // replies and errors that arrived while waiting for a delivery
  std::uint64_t next_request = 1;
  bool lost = false;

  ~Impl() {
    if (socket) zmq_close(socket);
    if (ctx) zmq_ctx_term(ctx);
  }

  // The hub is silent when nothing (not even PONG) came for four heartbeats.
  std::chrono::milliseconds silence_limit() const { return std::max(heartbeat * 4, std::chrono::milliseconds(2000)); }

  Status send(const Message& m) {
    const int rc = send_frames(socket, encode(m));
    if (rc != 0) return Error::make("link-lost", std::string("cannot send ") + std::string(command_of(m)) + ": " + zmq_strerror(rc));
    last_sent = Clock::now();
    return Status::success();
  }

  // The next message that is not a heartbeat, within `timeout`. Answers PING, sends PING
  // when idle, and reports "link-lost" when the hub has been silent too long.
  Result<Message> receive(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto now = Clock::now();
      if (now - last_heard > silence_limit()) {
        lost = true;
        return Error::make("link-lost", "the hub has been silent for " +
                                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard).count()) +
                                            " ms");
      }
      if (now - last_sent >= heartbeat) {
        if (auto s = send(Ping{}); !s) return s.error();
      }
      if (now >= deadline) return Error::make("timeout", "nothing arrived within " + std::to_string(timeout.count()) + " ms");
      const Clock::duration slice = std::min<Clock::duration>(
          {deadline - now, std::chrono::duration_cast<Clock::duration>(heartbeat / 2),
           std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(250))});
      zmq_pollitem_t item{socket, 0, ZMQ_POLLIN, 0};
      const long ms = std::max<long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(slice).count());
      if (zmq_poll(&item, 1, ms) < 0) {
        if (zmq_errno() == EINTR) continue;
        return Error::make("link-lost", std::string("poll: ") + zmq_strerror(zmq_errno()));
      }
      if (!(item.revents & ZMQ_POLLIN)) continue;
      Received in;
      if (receive_frames(socket, in) != 0) continue;
      last_heard = Clock::now();
      auto m = decode(in.frames);
      if (!m) {
        // Tell the hub what was wrong with its message, then carry on.
        static_cast<void>(send(Failure{m.error()}));
        continue;
      }
      if (std::holds_alternative<Ping>(*m)) {
        if (auto s = send(Pong{}); !s) return s.error();
        continue;
      }
      if (std::holds_alternative<Pong>(*m)) continue;
      if (std::holds_alternative<Bye>(*m)) {
        lost = true;
        return Error::make("link-lost", "the hub ended the session (BYE)");
      }
      if (auto* f = std::get_if<Failure>(&*m); f && f->problem.rule == "session") {
        lost = true;
        return Error::make("link-lost", "the hub no longer knows this session: " + f->problem.message);
      }
      return m;
    }
  }

  // Waits for the RESULT of request `id`, keeping deliveries that arrive meanwhile.
  Result<Reply> await_reply(const std::string& id, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      for (auto it = others.begin(); it != others.end(); ++it) {
        if (auto* r = std::get_if<Reply>(&*it); r && r->request_id == id) {
          Reply out = *r;
          others.erase(it);
          return out;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Error::make("timeout", "no answer to request " + id + " within " + std::to_string(timeout.count()) + " ms");
      auto m = receive(left);
      if (!m) return m.error();
      if (auto* d = std::get_if<Deliver>(&*m)) {
        deliveries.push_back(std::move(*d));
      } else if (auto* f = std::get_if<Failure>(&*m)) {
        return f->problem;  // the hub could not read our request
      } else {
        others.push_back(std::move(*m));
      }
    }
  }

  std::string request_id() { return std::to_string(::getpid()) + "-" + std::to_string(next_request++); }
};

Connector::Connector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connector::~Connector() { close(); }

Result<std::unique_ptr<Connector>> Connector::open(const ConnectorOptions& options) {
  if (auto s = check_z85_key(options.server_key, "server key"); !s) return s.error();
  auto impl = std::make_unique<Impl>();
  impl->ctx = zmq_ctx_new();
  impl->socket = zmq_socket(impl->ctx, ZMQ_DEALER);
  void* socket = impl->socket;
  set_string(socket, ZMQ_CURVE_SERVERKEY, options.server_key);
  set_string(socket, ZMQ_CURVE_PUBLICKEY, options.key.public_key);
  set_string(socket, ZMQ_CURVE_SECRETKEY, options.key.secret_key);
  set_int(socket, ZMQ_LINGER, 1000);
  set_int(socket, ZMQ_HEARTBEAT_IVL, 5000);
  set_int(socket, ZMQ_HEARTBEAT_TIMEOUT, 20000);
  // Watch the handshake so a refused key is reported as such, not as a silent hub.
  const std::string monitor_endpoint = "inproc://deit-connector-monitor";
  zmq_socket_monitor(socket, monitor_endpoint.c_str(),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
  void* monitor = zmq_socket(impl->ctx, ZMQ_PAIR);
  set_int(monitor, ZMQ_LINGER, 0);
  zmq_connect(monitor, monitor_endpoint.c_str());
  struct CloseMonitor {
    void* socket;
    void* monitor;
    ~CloseMonitor() {
      zmq_socket_monitor(socket, nullptr, 0);
      zmq_close(monitor);
    }
  } close_monitor{socket, monitor};

  if (zmq_connect(socket, options.endpoint.c_str()) != 0)
    return Error::make("link", "cannot connect to " + options.endpoint + ": " + zmq_strerror(zmq_errno()), "endpoint");
  impl->last_heard = impl->last_sent = Clock::now();
  if (auto s = impl->send(Hello{options.role, options.window}); !s) return s.error();

  const auto deadline = Clock::now() + options.handshake_timeout;
  std::string failure;
  while (Clock::now() < deadline) {
    zmq_pollitem_t items[] = {{socket, 0, ZMQ_POLLIN, 0}, {monitor, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, 100) < 0 && zmq_errno() != EINTR)
      return Error::make("link", std::string("poll: ") + zmq_strerror(zmq_errno()));
    if (items[1].revents & ZMQ_POLLIN) {
      Received event;
      if (receive_frames(monitor, event) == 0 && !event.frames.empty() && event.frames[0].size() >= 6) {
        std::uint16_t id = 0;
        std::uint32_t value = 0;
        std::memcpy(&id, event.frames[0].data(), 2);
        std::memcpy(&value, event.frames[0].data() + 2, 4);
        if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
          return Error::make("unauthorised",
                             "the hub refused this agency's key (ZAP status " + std::to_string(value) +
                                 "): is its public key in the hub's agencies[].link_keys?",
                             "key");
        failure = id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error " + std::to_string(value)
                                                             : "handshake failed";
      }
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    Received in;
    if (receive_frames(socket, in) != 0) continue;
    auto m = decode(in.frames);
    if (!m) return m.error();
    if (auto* w = std::get_if<Welcome>(&*m)) {
      impl->heartbeat = std::chrono::milliseconds(w->heartbeat_ms);
      impl->last_heard = Clock::now();
      std::unique_ptr<Connector> c(new Connector(std::move(impl)));
      c->agency_ = w->agency;
      c->window_ = static_cast<std::size_t>(w->window);
      return c;
    }
    if (auto* f = std::get_if<Failure>(&*m)) return f->problem;
  }
  return Error::make("timeout",
                     "no WELCOME from " + options.endpoint + " within " +
                         std::to_string(options.handshake_timeout.count()) + " ms" +
                         (failure.empty() ? " (is the hub listening, and is the server key right?)" : ": " + failure),
                     "endpoint");
}

Result<Deliver> Connector::next(std::chrono::milliseconds timeout) {
  if (!impl_->deliveries.empty()) {
    Deliver d = std::move(impl_->deliveries.front());
    impl_->deliveries.pop_front();
    return d;
  }
  if (impl_->lost) return Error::make("link-lost", "the session has ended; open a new one");
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto m = impl_->receive(std::max(left, std::chrono::milliseconds(0)));
    if (!m) return m.error();
    if (auto* d = std::get_if<Deliver>(&*m)) return std::move(*d);
    impl_->others.push_back(std::move(*m));
  }
}

Status Connector::ack(const std::vector<std::uint64_t>& seqs) {
  if (seqs.empty()) return Status::success();
  return impl_->send(Ack{seqs});
}

Result<Reply> Connector::submit(const std::string& content_type, const std::string& body,
                                std::chrono::milliseconds timeout) {
  const std::string id = impl_->request_id();
  if (auto s = impl_->send(Submit{id, content_type, body}); !s) return s.error();
  return impl_->await_reply(id, timeout);
}

Result<Reply> Connector::decide(const std::string& transfer, bool accept, const std::string& reason,
                                const std::string& operator_name, std::chrono::milliseconds timeout) {
  const std::string id = impl_->request_id();
  if (auto s = impl_->send(Decide{id, transfer, accept, reason, operator_name}); !s) return s.error();
  return impl_->await_reply(id, timeout);
}

Result<Message> Connector::exchange_raw(const std::vector<std::string>& frames, std::chrono::milliseconds timeout) {
  if (const int rc = send_frames(impl_->socket, frames); rc != 0)
    return Error::make("link-lost", std::string("cannot send: ") + zmq_strerror(rc));
  impl_->last_sent = Clock::now();
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto m = impl_->receive(std::max(left, std::chrono::milliseconds(0)));
    if (!m) return m.error();
    if (auto* d = std::get_if<Deliver>(&*m)) {
      impl_->deliveries.push_back(std::move(*d));
      continue;
    }
    return m;
  }
}

void Connector::close() {
  if (!impl_ || !impl_->socket) return;
  if (!impl_->lost) static_cast<void>(impl_->send(Bye{}));
  zmq_close(impl_->socket);  // lingers up to a second for queued ACKs and BYE
  impl_->socket = nullptr;
}

}  // namespace deit::hub::links
