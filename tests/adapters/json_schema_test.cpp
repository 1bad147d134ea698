#include "adapters/json/json_schema.hpp"

#include <gtest/gtest.h>

#include "hub/model/incident.hpp"

using namespace deit;

namespace {

std::shared_ptr<const json::Schema> schema() {
  static auto s = json::Schema::compile(R"({
    "type": "object", "additionalProperties": false, "required": ["id", "items"],
    "properties": {
      "id": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
      "n": {"type": "integer", "minimum": 1, "maximum": 4},
      "kind": {"enum": ["a", "b"]},
      "items": {"type": "array", "maxItems": 2, "items": {"type": ["number", "null"]}}
    }})", "test.schema.json");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().describe());
  return s.value();
}

Error error_for(std::string_view text) {
  auto r = schema()->parse_and_validate(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? Error{} : r.error();
}

}  // namespace

TEST(JsonSchema, AcceptsAValidDocument) {
  EXPECT_TRUE(schema()->parse_and_validate(R"({"id":"abc","n":2,"kind":"a","items":[1.5,null]})").ok());
  EXPECT_TRUE(schema()->parse_and_validate(R"({"id":"abc","n":2.0,"items":[]})").ok());  // 2.0 is an integer
}

TEST(JsonSchema, EachKeywordNamesPointerLineAndColumn) {
  auto e = error_for("{\"id\": \"abc\",\n \"items\": [1, \"x\"]}");
  EXPECT_EQ(e.field, "/items/1");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 15);
  EXPECT_NE(e.message.find("type"), std::string::npos);
  e = error_for(R"({"id":"ABC","items":[]})");
  EXPECT_EQ(e.field, "/id");
  EXPECT_NE(e.message.find("pattern"), std::string::npos);
  e = error_for(R"({"id":"abcdef","items":[]})");
  EXPECT_NE(e.message.find("maxLength"), std::string::npos);
  e = error_for(R"({"id":"a","n":5,"items":[]})");
  EXPECT_NE(e.message.find("maximum"), std::string::npos);
  e = error_for(R"({"id":"a","n":0,"items":[]})");
  EXPECT_NE(e.message.find("minimum"), std::string::npos);
  e = error_for(R"({"id":"a","kind":"c","items":[]})");
  EXPECT_NE(e.message.find("enum"), std::string::npos);
  e = error_for(R"({"id":"a","items":[1,2,3]})");
  EXPECT_NE(e.message.find("maxItems"), std::string::npos);
  e = error_for(R"({"items":[]})");
  EXPECT_EQ(e.field, "");
  EXPECT_NE(e.message.find("required"), std::string::npos);
  e = error_for(R"({"id":"a","items":[],"extra":1})");
  EXPECT_EQ(e.field, "/extra");
  EXPECT_EQ(e.column, 22);  // the member name
  EXPECT_EQ(e.rule, "schema");
}

TEST(JsonSchema, EscapedNamesAreLocated) {
  // "\u0069d" is "id": the locator decodes names as Boost.JSON did.
  auto e = error_for(R"({"\u0069d":"ABC","items":[]})");
  EXPECT_EQ(e.field, "/id");
  EXPECT_EQ(e.column, 12);
}

TEST(JsonSchema, RefusesUnsupportedKeywords) {
  auto s = json::Schema::compile(R"({"type":"object","oneOf":[]})", "x.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("oneOf"), std::string::npos);
}

TEST(JsonSchema, ParseErrorsAreLocated) {
  auto r = json::parse("{\n  \"a\": tru\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "well-formed");
  EXPECT_EQ(r.error().line, 2);
  r = json::parse("{\"a\":\"\xff\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos);
}

TEST(JsonSchema, DateTimeFormatChecksEveryField) {
  // Found by fuzzing (fuzz_adapter_ambulance): the pattern alone let "2026-11-46T08:14:05Z"
  // through, and the translation into every XML format then failed its schema.
  auto s = json::Schema::compile(R"({"type":"string","format":"date-time"})", "t.json");
  ASSERT_TRUE(s.ok()) << s.error().describe();
  for (const char* ok : {"\"2026-11-23T08:14:05Z\"", "\"2024-02-29T23:59:60.5+01:00\"", "\"2026-11-23T24:00:00-14:00\""})
    EXPECT_TRUE((*s)->parse_and_validate(ok).ok()) << ok;
  for (const char* bad : {"\"2026-11-46T08:14:05Z\"", "\"2023-02-29T08:14:05Z\"", "\"2026-13-01T08:14:05Z\"",
                          "\"0000-01-01T00:00:00Z\"", "\"2026-11-23T24:00:01Z\"", "\"2026-11-23T08:60:00Z\"",
                          "\"2026-11-23T08:14:05+14:30\"", "\"2026-11-23T08:14:05\"", "\"2026-11-23T08:14:05.Z\""}) {
    auto r = (*s)->parse_and_validate(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("format"), std::string::npos) << r.error().describe();
  }
  EXPECT_FALSE(json::Schema::compile(R"({"type":"string","format":"email"})", "t.json").ok());
  EXPECT_TRUE(model::is_agency_id("hertfordshire-fire"));
  EXPECT_FALSE(model::is_agency_id("he+tfordshire-fire"));
  EXPECT_FALSE(model::is_agency_id("-fire"));
  EXPECT_FALSE(model::is_agency_id(std::string(65, 'a')));
}

TEST(JsonSchema, LongStringsNeverReachTheRegexEngine) {
  // Found while fuzzing the ambulance decoder: std::regex recurses once per character, so
  // a 100 KB date-time fraction overflowed the stack and killed the process.
  auto s = json::Schema::compile(R"({"type":"string","pattern":"^\\d+$"})", "t.json");
  ASSERT_TRUE(s.ok()) << s.error().describe();
  auto r = (*s)->parse_and_validate("\"" + std::string(200000, '1') + "\"");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos) << r.error().describe();
  EXPECT_TRUE((*s)->parse_and_validate("\"" + std::string(4096, '1') + "\"").ok());
}
