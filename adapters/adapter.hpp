#pragma once
// One interface for every incident format the hub speaks. An adapter turns an agency's
// bytes into the canonical IncidentMessage and back, validating on the way in, and
// reports everything it could not carry as a Finding instead of dropping it silently.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/incident.hpp"
#include "hub/model/result.hpp"

namespace deit::adapters {

// Something that did not map cleanly: a code with no equivalent, a field the target
// format has no place for. The value travels on (carried as-is where the format allows).
struct Finding {
  std::string field;    // canonical path, e.g. "incident/type"
  std::string rule;     // "unmapped-code", "not-carried", "truncated", ...
  std::string message;  // for a person
  bool operator==(const Finding&) const = default;
};

struct Decoded {
  model::IncidentMessage message;
  std::vector<Finding> findings;
};

struct Encoded {
  std::string bytes;
  std::string content_type;
  std::vector<Finding> findings;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // The format's name as used in configuration: "deit", "police", "fire", ...
  virtual std::string_view name() const = 0;
  virtual std::string_view content_type() const = 0;
  // Validates `bytes` against the format's schema, then maps to canonical. Errors name
  // the field, the rule and (for text formats) the line and column.
  virtual Result<Decoded> decode(std::string_view bytes) const = 0;
  // Maps canonical to the format. The output must validate against the format's schema.
  virtual Result<Encoded> encode(const model::IncidentMessage& message) const = 0;
  // Schema-only check, used by `deitctl validate`. Default: decode and discard.
  virtual Status validate(std::string_view bytes) const;
};

// Adapters by name. Thread-safe for concurrent lookups once built.
class Registry {
 public:
  void add(std::shared_ptr<const Adapter> adapter);
  // nullptr when no adapter has that name.
  const Adapter* find(std::string_view name) const;
  std::vector<std::string_view> names() const;

 private:
  std::vector<std::shared_ptr<const Adapter>> adapters_;
};

// Every adapter the project ships, ready to use. Fails only if an embedded schema or
// mapping table is broken (a build defect), with the reason.
Result<std::shared_ptr<const Registry>> builtin_registry();

}  // namespace deit::adapters
