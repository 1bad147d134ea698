#pragma once
// Small non-throwing helpers over the libzmq C API, shared by the link service and the
// connector: whole multipart messages in and out, and the metadata ZAP attached.

#include <zmq.h>

#include <string>
#include <vector>

namespace deit::hub::links {

struct Received {
  std::vector<std::string> frames;
  std::string user_id;       // set by our ZAP handler: the peer's agency
  std::string peer_address;  // the peer's IP address
};

// Sends `frames` (after `routing_id`, when given) without blocking. Returns 0 or errno:
// EAGAIN when the peer's queue is full, EHOSTUNREACH when a ROUTER peer is gone.
inline int send_frames(void* socket, const std::vector<std::string>& frames, const std::string* routing_id = nullptr) {
  if (routing_id) {
    if (zmq_send(socket, routing_id->data(), routing_id->size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return zmq_errno();
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const int flags = ZMQ_DONTWAIT | (i + 1 < frames.size() ? ZMQ_SNDMORE : 0);
    if (zmq_send(socket, frames[i].data(), frames[i].size(), flags) < 0) return zmq_errno();
  }
  return 0;
}

// Receives one whole multipart message without blocking. Returns 0, EAGAIN, or errno.
inline int receive_frames(void* socket, Received& out) {
  out = Received{};
  for (;;) {
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, socket, ZMQ_DONTWAIT) < 0) {
      const int e = zmq_errno();
      zmq_msg_close(&part);
      return e;
    }
    if (out.user_id.empty()) {
      // Metadata rides on the parts that came over the wire (not on a ROUTER's
      // routing id frame, which the socket adds).
      if (const char* u = zmq_msg_gets(&part, "User-Id")) out.user_id = u;
      if (const char* p = zmq_msg_gets(&part, "Peer-Address")) out.peer_address = p;
    }
    out.frames.emplace_back(static_cast<const char*>(zmq_msg_data(&part)), zmq_msg_size(&part));
    const bool more = zmq_msg_more(&part);
    zmq_msg_close(&part);
    if (!more) return 0;
  }
}

inline void set_int(void* socket, int option, int value) { zmq_setsockopt(socket, option, &value, sizeof value); }
inline void set_string(void* socket, int option, const std::string& value) {
  zmq_setsockopt(socket, option, value.data(), value.size());
}

}  // namespace deit::hub::links
