#include "hub/links/protocol.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "schemas/xml.hpp"

namespace deit::hub::links {

namespace json = boost::json;

std::string_view to_string(LinkRole role) {
  switch (role) {
    case LinkRole::receive: return "receive";
    case LinkRole::deliver: return "deliver";
    case LinkRole::submit: return "submit";
  }
  return "?";
}

namespace {

constexpr std::size_t kMaxJsonBytes = 64 * 1024;
constexpr std::size_t kMaxReasonBytes = 4096;

std::string frame_field(std::size_t index) { return "frame[" + std::to_string(index) + "]"; }

Error frame_error(std::size_t index, std::string message) {
  return Error::make("frame", std::move(message), frame_field(index));
}

// For messages about a peer's bytes: printable, short, never raw control characters.
std::string quoted(std::string_view bytes) {
  std::string out = "'";
  for (std::size_t i = 0; i < bytes.size() && i < 32; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (bytes.size() > 32) out += "...";
  return out + "'";
}

// A positive decimal number without sign or leading zeros, at most `max`.
Result<std::uint64_t> number(const std::vector<std::string>& f, std::size_t i, std::uint64_t min, std::uint64_t max,
                             const char* what) {
  const std::string& s = f[i];
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || (s.size() > 1 && s[0] == '0'))
    return frame_error(i, std::string(what) + " must be a decimal number, not " + quoted(s));
  if (v < min || v > max)
    return frame_error(i, std::string(what) + " must be from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

// 1..max bytes, each allowed by `ok`.
template <typename Pred>
Status token(const std::vector<std::string>& f, std::size_t i, std::size_t max, const char* what, Pred ok) {
  const std::string& s = f[i];
  if (s.empty() || s.size() > max)
    return frame_error(i, std::string(what) + " must be 1 to " + std::to_string(max) + " bytes");
  for (char c : s)
    if (!ok(static_cast<unsigned char>(c))) return frame_error(i, std::string(what) + " " + quoted(s) + " has a character that is not allowed");
  return Status::success();
}

bool id_char(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':'; }
bool agency_char(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Free text (reasons, message ids): UTF-8 without control characters, at most `max` bytes.
Status text(const std::vector<std::string>& f, std::size_t i, std::size_t max, bool required, const char* what) {
  const std::string& s = f[i];
  if (required && s.empty()) return frame_error(i, std::string(what) + " must not be empty");
  if (s.size() > max) return frame_error(i, std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  if (!xml::is_valid_utf8(s)) return frame_error(i, std::string(what) + " is not valid UTF-8");
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return frame_error(i, std::string(what) + " has a control character");
  return Status::success();
}

Status frame_count(const std::vector<std::string>& f, std::size_t want, std::string_view command) {
  if (f.size() != want)
    return Error::make("frame",
                       std::string(command) + " has " + std::to_string(f.size()) + " frames; it must have " +
                           std::to_string(want),
                       frame_field(f.size() < want ? f.size() : want));
  return Status::success();
}

Status version(const std::vector<std::string>& f, std::size_t i) {
  if (f[i] != kProtocolVersion)
    return frame_error(i, "protocol version " + quoted(f[i]) + " is not supported; this hub speaks " +
                              std::string(kProtocolVersion));
  return Status::success();
}

Status problem(const std::vector<std::string>& f, std::size_t i, Error& out) {
  if (f[i].size() > kMaxJsonBytes) return frame_error(i, "problem is longer than 64 KiB");
  Status s = parse_problem_json(f[i], out);
  if (!s) {
    Error e = s.error();
    e.field = frame_field(i) + (e.field.empty() ? "" : "/" + e.field);
    return e;
  }
  return Status::success();
}

#define DEIT_LINK_CHECK(expr)   \
  do {                          \
    Status s_ = (expr);         \
    if (!s_) return s_.error(); \
  } while (0)

#define DEIT_LINK_ASSIGN(var, expr) \
  auto var##_r = (expr);            \
  if (!var##_r) return var##_r.error();

}  // namespace

std::string problem_json(const Error& e) {
  json::object o{{"rule", e.rule}, {"detail", e.message}};
  if (!e.field.empty()) o["field"] = e.field;
  if (e.line > 0) {
    o["line"] = e.line;
    o["column"] = e.column;
  }
  return json::serialize(o);
}

Status parse_problem_json(std::string_view text, Error& out) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error::make("frame", "problem is not JSON: " + ec.message());
  if (!v.is_object()) return Error::make("frame", "problem must be a JSON object");
  const json::object& o = v.as_object();
  out = Error{};
  auto str = [&](const char* key, std::string& dest, bool required) -> Status {
    const json::value* x = o.if_contains(key);
    if (!x) return required ? Status(Error::make("frame", std::string("problem needs \"") + key + "\"", key)) : Status::success();
    if (!x->is_string()) return Error::make("frame", "must be a string", key);
    dest = std::string(x->as_string());
    return Status::success();
  };
  auto num = [&](const char* key, int& dest) -> Status {
    const json::value* x = o.if_contains(key);
    if (!x) return Status::success();
    if (!x->is_int64() || x->as_int64() < 0 || x->as_int64() > 1'000'000'000)
      return Error::make("frame", "must be a non-negative whole number", key);
    dest = static_cast<int>(x->as_int64());
    return Status::success();
  };
  DEIT_LINK_CHECK(str("rule", out.rule, true));
  DEIT_LINK_CHECK(str("detail", out.message, true));
  DEIT_LINK_CHECK(str("field", out.field, false));
  DEIT_LINK_CHECK(num("line", out.line));
  DEIT_LINK_CHECK(num("column", out.column));
  return Status::success();
}

std::string_view command_of(const Message& m) {
  static constexpr std::string_view names[] = {"HELLO", "WELCOME", "DELIVER", "ACK",  "REFUSE", "SUBMIT",
                                               "DECIDE", "RESULT", "PING",    "PONG", "ERROR",  "BYE"};
  return names[m.index()];
}

std::vector<std::string> encode(const Message& message) {
  std::vector<std::string> f{std::string(command_of(message))};
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>) {
          f.insert(f.end(), {std::string(kProtocolVersion), std::string(to_string(m.role)), std::to_string(m.window)});
        } else if constexpr (std::is_same_v<T, Welcome>) {
          f.insert(f.end(), {std::string(kProtocolVersion), m.agency, std::to_string(m.window),
                             std::to_string(m.heartbeat_ms)});
        } else if constexpr (std::is_same_v<T, Deliver>) {
          f.insert(f.end(), {std::to_string(m.seq), m.transfer, m.message, m.kind, m.content_type, m.body});
        } else if constexpr (std::is_same_v<T, Ack>) {
          for (auto s : m.seqs) f.push_back(std::to_string(s));
        } else if constexpr (std::is_same_v<T, Refuse>) {
          f.insert(f.end(), {std::to_string(m.seq), problem_json(m.problem)});
        } else if constexpr (std::is_same_v<T, Submit>) {
          f.insert(f.end(), {m.request_id, m.content_type, m.body});
        } else if constexpr (std::is_same_v<T, Decide>) {
          f.insert(f.end(), {m.request_id, m.transfer, m.accept ? "accept" : "reject", m.reason, m.operator_name});
        } else if constexpr (std::is_same_v<T, Reply>) {
          f.insert(f.end(), {m.request_id, m.status, m.json});
        } else if constexpr (std::is_same_v<T, Failure>) {
          f.push_back(problem_json(m.problem));
        }
      },
      message);
  return f;
}

Result<Message> decode(const std::vector<std::string>& f, const CodecLimits& limits) {
  if (f.empty()) return frame_error(0, "empty message");
  const std::string& cmd = f[0];
  if (cmd == "HELLO") {
    DEIT_LINK_CHECK(frame_count(f, 4, cmd));
    DEIT_LINK_CHECK(version(f, 1));
    Hello h;
    if (f[2] == "receive") {
      h.role = LinkRole::receive;
    } else if (f[2] == "deliver") {
      h.role = LinkRole::deliver;
    } else if (f[2] == "submit") {
      h.role = LinkRole::submit;
    } else {
      return frame_error(2, "role " + quoted(f[2]) + " is not one of receive, deliver, submit");
    }
    DEIT_LINK_ASSIGN(window, number(f, 3, 1, 100'000, "window"));
    h.window = *window_r;
    return Message(h);
  }
  if (cmd == "WELCOME") {
    DEIT_LINK_CHECK(frame_count(f, 5, cmd));
    DEIT_LINK_CHECK(version(f, 1));
    DEIT_LINK_CHECK(token(f, 2, 64, "agency", agency_char));
    DEIT_LINK_ASSIGN(window, number(f, 3, 1, 100'000, "window"));
    DEIT_LINK_ASSIGN(heartbeat, number(f, 4, 1, 3'600'000, "heartbeat"));
    return Message(Welcome{f[2], *window_r, *heartbeat_r});
  }
  if (cmd == "DELIVER") {
    DEIT_LINK_CHECK(frame_count(f, 7, cmd));
    DEIT_LINK_ASSIGN(seq, number(f, 1, 1, UINT64_MAX, "delivery number"));
    DEIT_LINK_CHECK(token(f, 2, 128, "transfer id", id_char));
    DEIT_LINK_CHECK(text(f, 3, 256, true, "message id"));
    if (f[4] != "incident" && f[4] != "status") return frame_error(4, "kind " + quoted(f[4]) + " is not one of incident, status");
    DEIT_LINK_CHECK(token(f, 5, 128, "content type", [](unsigned char c) { return c >= 0x20 && c < 0x7f; }));
    if (f[6].empty()) return frame_error(6, "body must not be empty");
    if (f[6].size() > limits.max_body_bytes)
      return frame_error(6, "body is larger than " + std::to_string(limits.max_body_bytes) + " bytes");
    return Message(Deliver{*seq_r, f[2], f[3], f[4], f[5], f[6]});
  }
  if (cmd == "ACK") {
    if (f.size() < 2) return frame_error(1, "ACK names at least one delivery number");
    if (f.size() - 1 > limits.max_acks)
      return frame_error(limits.max_acks + 1, "ACK names at most " + std::to_string(limits.max_acks) + " deliveries");
    Ack a;
    for (std::size_t i = 1; i < f.size(); ++i) {
      DEIT_LINK_ASSIGN(seq, number(f, i, 1, UINT64_MAX, "delivery number"));
      a.seqs.push_back(*seq_r);
    }
    return Message(a);
  }
  if (cmd == "REFUSE") {
    DEIT_LINK_CHECK(frame_count(f, 3, cmd));
    DEIT_LINK_ASSIGN(seq, number(f, 1, 1, UINT64_MAX, "delivery number"));
    Refuse r{*seq_r, {}};
    DEIT_LINK_CHECK(problem(f, 2, r.problem));
    return Message(r);
  }
  if (cmd == "SUBMIT") {
    DEIT_LINK_CHECK(frame_count(f, 4, cmd));
    DEIT_LINK_CHECK(token(f, 1, 64, "request id", id_char));
    DEIT_LINK_CHECK(token(f, 2, 128, "content type", [](unsigned char c) { return c >= 0x20 && c < 0x7f; }));
    if (f[3].empty()) return frame_error(3, "body must not be empty");
    if (f[3].size() > limits.max_body_bytes)
      return Error::make("size", "body is larger than " + std::to_string(limits.max_body_bytes) + " bytes", frame_field(3));
    return Message(Submit{f[1], f[2], f[3]});
  }
  if (cmd == "DECIDE") {
    DEIT_LINK_CHECK(frame_count(f, 6, cmd));
    DEIT_LINK_CHECK(token(f, 1, 64, "request id", id_char));
    DEIT_LINK_CHECK(token(f, 2, 128, "transfer id", id_char));
    if (f[3] != "accept" && f[3] != "reject") return frame_error(3, "decision " + quoted(f[3]) + " is not one of accept, reject");
    DEIT_LINK_CHECK(text(f, 4, kMaxReasonBytes, false, "reason"));
    DEIT_LINK_CHECK(text(f, 5, 256, false, "operator"));
    return Message(Decide{f[1], f[2], f[3] == "accept", f[4], f[5]});
  }
  if (cmd == "RESULT") {
    DEIT_LINK_CHECK(frame_count(f, 4, cmd));
    DEIT_LINK_CHECK(token(f, 1, 64, "request id", id_char));
    if (f[2] != "received" && f[2] != "duplicate" && f[2] != "decided" && f[2] != "refused")
      return frame_error(2, "status " + quoted(f[2]) + " is not one of received, duplicate, decided, refused");
    if (f[3].size() > limits.max_body_bytes) return frame_error(3, "result is too large");
    boost::system::error_code ec;
    json::value v = json::parse(f[3], ec);
    if (ec || !v.is_object()) return frame_error(3, "result must be a JSON object");
    return Message(Reply{f[1], f[2], f[3]});
  }
  if (cmd == "PING") {
    DEIT_LINK_CHECK(frame_count(f, 1, cmd));
    return Message(Ping{});
  }
  if (cmd == "PONG") {
    DEIT_LINK_CHECK(frame_count(f, 1, cmd));
    return Message(Pong{});
  }
  if (cmd == "ERROR") {
    DEIT_LINK_CHECK(frame_count(f, 2, cmd));
    Failure failure;
    DEIT_LINK_CHECK(problem(f, 1, failure.problem));
    return Message(failure);
  }
  if (cmd == "BYE") {
    DEIT_LINK_CHECK(frame_count(f, 1, cmd));
    return Message(Bye{});
  }
  return frame_error(0, "unknown command " + quoted(cmd));
}

#undef DEIT_LINK_CHECK
#undef DEIT_LINK_ASSIGN

}  // namespace deit::hub::links
