#pragma once
// The DEIT link protocol (docs/links.md): multipart ZeroMQ messages over a CURVE-secured
// DEALER (the side that connects) to ROUTER (the listener) connection. Frame 0 names the
// command; the other frames are plain text or opaque bytes, never nested encodings,
// except the problem frames, which are the JSON of the HTTP API's problem details.
//
// This file is only the codec: plain functions from frames to typed messages and back,
// with every frame validated. Sockets and sessions live in link_service.hpp.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::hub::links {

inline constexpr std::string_view kProtocolVersion = "1";
inline constexpr std::string_view kZapDomain = "deit-links";

// What the connecting side does on the link: `receive` the agency's deliveries (an
// agency's connector), `deliver` its own queue to the listener (a hub in mode link), or
// only `submit` incidents and decisions (a sending application; nothing is delivered to it).
// Every role may SUBMIT and DECIDE.
enum class LinkRole { receive, deliver, submit };
std::string_view to_string(LinkRole);

// Connecting side opens a session.            HELLO <version> <role> <window>
struct Hello {
  LinkRole role = LinkRole::receive;
  std::uint64_t window = 1;  // receive: how many unacknowledged deliveries it accepts
};
// Listener accepts it.                         WELCOME <version> <agency> <window> <heartbeat-ms>
struct Welcome {
  std::string agency;          // who the listener's ZAP handler says the peer is
  std::uint64_t window = 1;    // granted: deliveries in flight on this session
  std::uint64_t heartbeat_ms = 5000;
};
// One delivery, from the side that delivers.  DELIVER <seq> <transfer> <message> <kind> <content-type> <body>
struct Deliver {
  std::uint64_t seq = 0;
  std::string transfer;
  std::string message;
  std::string kind;  // incident | status
  std::string content_type;
  std::string body;
};
// Transport acknowledgement by the receiver.   ACK <seq> [<seq> ...]
struct Ack {
  std::vector<std::uint64_t> seqs;
};
// The receiver cannot take a delivery.         REFUSE <seq> <problem-json>
struct Refuse {
  std::uint64_t seq = 0;
  Error problem;
};
// Connector submits an incident message.       SUBMIT <request-id> <content-type> <body>
struct Submit {
  std::string request_id;
  std::string content_type;
  std::string body;
};
// Connector accepts or rejects a transfer.     DECIDE <request-id> <transfer> <accept|reject> <reason> <operator>
struct Decide {
  std::string request_id;
  std::string transfer;
  bool accept = true;
  std::string reason;
  std::string operator_name;
};
// Answer to SUBMIT or DECIDE, after commit.    RESULT <request-id> <status> <json>
// status: received | duplicate | decided | refused; json: the HTTP API's body for it
// (for refused, the problem: rule, field, line, column, detail).
struct Reply {
  std::string request_id;
  std::string status;
  std::string json;
};
struct Ping {};  // PING: sent by either side when it has sent nothing for a heartbeat
struct Pong {};  // PONG: the answer to PING
// A message that could not be taken, or a protocol state error. ERROR <problem-json>
struct Failure {
  Error problem;
};
struct Bye {};  // BYE: the sender ends its session

using Message = std::variant<Hello, Welcome, Deliver, Ack, Refuse, Submit, Decide, Reply, Ping, Pong, Failure, Bye>;

struct CodecLimits {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_acks = 1024;
};

std::vector<std::string> encode(const Message& message);
// Validates every frame. Errors have rule "frame" and name the frame as field
// ("frame[2]"; frame 0 is the command), so the peer learns exactly what was wrong.
Result<Message> decode(const std::vector<std::string>& frames, const CodecLimits& limits = {});
std::string_view command_of(const Message& message);

// The problem JSON of the HTTP API: {"rule","detail","field"?,"line"?,"column"?}.
std::string problem_json(const Error& error);
// Reads a problem frame into `out`; the error says what is wrong with it.
Status parse_problem_json(std::string_view text, Error& out);

}  // namespace deit::hub::links
