// AddressBase Premium GML, streamed with Xerces-C++ SAX2: memory stays flat however large
// the file. Record elements (BasicLandPropertyUnit, LandPropertyIdentifier, Street,
// StreetDescriptiveIdentifier, DeliveryPointAddress, Classification, Organisation) open a
// frame; their leaf elements fill it, matched to the CSV column names by a normalised key
// ("parentUPRN" and "PARENT_UPRN" are both "parentuprn"). Nested records inherit the UPRN,
// USRN and change type of the record around them.

#include <xercesc/framework/LocalFileInputSource.hpp>
#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/XMLString.hpp>

#include <cctype>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "gazetteer/io.hpp"
#include "gazetteer/loaders.hpp"

namespace deit::gazetteer {
namespace {

namespace x = XERCES_CPP_NAMESPACE;

std::string utf8(const XMLCh* s) {
  if (s == nullptr) return {};
  char* t = x::XMLString::transcode(s);
  std::string out(t);
  x::XMLString::release(&t);
  return out;
}

std::string key_of(std::string_view name) {
  std::string k;
  for (char c : name)
    if (c != '_' && c != '-') k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return k;
}

enum class Kind { none, blpu, lpi, street, descriptor, delivery_point, classification, organisation };

Kind record_kind(const std::string& local) {
  if (local == "BasicLandPropertyUnit") return Kind::blpu;
  if (local == "LandPropertyIdentifier") return Kind::lpi;
  if (local == "Street") return Kind::street;
  if (local == "StreetDescriptiveIdentifier") return Kind::descriptor;
  if (local == "DeliveryPointAddress") return Kind::delivery_point;
  if (local == "Classification") return Kind::classification;
  if (local == "Organisation") return Kind::organisation;
  return Kind::none;
}

struct Frame {
  Kind kind;
  std::size_t line;
  std::unordered_map<std::string, std::string> fields;
  std::string get(const char* k) const {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  }
};

struct DoctypeRefused {
  std::size_t line;
};

class Handler : public x::DefaultHandler {
 public:
  Handler(const std::string& path, RecordSink& sink, LoadStats& stats) : path_(path), sink_(sink), stats_(stats) {}

  void setDocumentLocator(const x::Locator* const locator) override { locator_ = locator; }

  void startElement(const XMLCh* const, const XMLCh* const localname, const XMLCh* const,
                    const x::Attributes&) override {
    std::string local = utf8(localname);
    path_stack_.push_back(local);
    text_.clear();
    Kind kind = record_kind(local);
    if (kind != Kind::none) {
      Frame f{kind, line(), {}};
      if (!frames_.empty()) {  // inherit identifiers from the enclosing record
        for (const char* k : {"uprn", "usrn", "changetype"}) {
          std::string v = frames_.back().get(k);
          if (!v.empty()) f.fields[k] = v;
        }
      }
      frames_.push_back(std::move(f));
    }
  }

  void characters(const XMLCh* const chars, const XMLSize_t length) override {
    if (length == 0) return;
    std::unique_ptr<XMLCh[]> copy(new XMLCh[length + 1]);
    std::copy(chars, chars + length, copy.get());
    copy[length] = 0;
    text_ += utf8(copy.get());
  }

  void endElement(const XMLCh* const, const XMLCh* const localname, const XMLCh* const) override {
    std::string local = utf8(localname);
    if (!path_stack_.empty()) path_stack_.pop_back();
    Kind kind = record_kind(local);
    if (kind != Kind::none && !frames_.empty() && frames_.back().kind == kind) {
      Frame f = std::move(frames_.back());
      frames_.pop_back();
      emit(f);
      text_.clear();
      return;
    }
    if (frames_.empty()) return;
    std::string value = trim(text_);
    text_.clear();
    if (local == "pos" || local == "coordinates") {
      // A point belongs to the property element above the gml:Point.
      std::string owner;
      for (auto it = path_stack_.rbegin(); it != path_stack_.rend(); ++it)
        if (*it != "Point") {
          owner = key_of(*it);
          break;
        }
      frames_.back().fields[owner] = value;
      return;
    }
    if (!value.empty() || frames_.back().fields.count(key_of(local)) == 0) frames_.back().fields[key_of(local)] = value;
  }

  // No AddressBase file has a DOCTYPE; refusing it keeps out DTDs and entity expansion
  // ("billion laughs"), which would otherwise run before any record is read.
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override { throw DoctypeRefused{line()}; }

  void fatalError(const x::SAXParseException& e) override { throw e; }
  void error(const x::SAXParseException&) override {}
  void warning(const x::SAXParseException&) override {}

 private:
  static std::string trim(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    std::size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
  }
  std::size_t line() const { return locator_ != nullptr ? static_cast<std::size_t>(locator_->getLineNumber()) : 0; }

  bool change_of(const Frame& f, Change* c, std::string* why) {
    std::string v = f.get("changetype");
    if (v.empty() || v == "I") *c = Change::insert;
    else if (v == "U") *c = Change::update;
    else if (v == "D") *c = Change::remove;
    else {
      *why = "changeType '" + v + "' is not I, U or D";
      return false;
    }
    return true;
  }

  template <typename T, typename Parse>
  bool number(const Frame& f, const char* key, T* out, Parse parse, std::string* why) {
    std::string v = f.get(key);
    if (!parse(v, out)) {
      *why = std::string(key) + " '" + v + "' is not a number";
      return false;
    }
    return true;
  }

  static bool two_numbers(const std::string& pos, double* a, double* b) {
    std::istringstream in(pos);
    return static_cast<bool>(in >> *a >> *b);
  }

  void emit(const Frame& f) {
    std::string why;
    bool ok = true;
    Change change = Change::insert;
    ok = change_of(f, &change, &why);
    switch (f.kind) {
      case Kind::blpu: {
        BlpuRecord r;
        r.change = change;
        std::string postcode = f.get("postcodelocator");
        ok = ok && number(f, "uprn", &r.uprn, io::parse_u64, &why) && number(f, "parentuprn", &r.parent_uprn, io::parse_u64, &why) &&
             number(f, "logicalstatus", &r.logical_status, io::parse_int, &why) &&
             number(f, "blpustate", &r.blpu_state, io::parse_int, &why) && number(f, "rpc", &r.rpc, io::parse_int, &why) &&
             number(f, "localcustodiancode", &r.local_custodian_code, io::parse_u16, &why);
        std::string pos = f.get("position"), latlon = f.get("positionlatlong");
        if (ok && !pos.empty()) {
          r.has_position = two_numbers(pos, &r.x, &r.y);
          if (!r.has_position) {
            ok = false;
            why = "position '" + pos + "' is not two numbers";
          }
        }
        if (ok && !latlon.empty() && !two_numbers(latlon, &r.latitude, &r.longitude)) {
          ok = false;
          why = "positionLatLong '" + latlon + "' is not two numbers";
        }
        if (ok && r.uprn == 0) {
          ok = false;
          why = "missing uprn";
        }
        r.postcode_locator = postcode;
        if (ok) sink_.blpu(r);
        break;
      }
      case Kind::lpi: {
        LpiRecord r;
        r.change = change;
        std::string key = f.get("lpikey"), language = f.get("language"), sao = f.get("saotext"), pao = f.get("paotext"),
                    area = f.get("areaname"), level = f.get("level");
        ok = ok && number(f, "uprn", &r.uprn, io::parse_u64, &why) && number(f, "usrn", &r.usrn, io::parse_u32, &why) &&
             number(f, "logicalstatus", &r.logical_status, io::parse_int, &why) &&
             number(f, "saostartnumber", &r.sao_start_number, io::parse_u16, &why) &&
             number(f, "saoendnumber", &r.sao_end_number, io::parse_u16, &why) &&
             number(f, "paostartnumber", &r.pao_start_number, io::parse_u16, &why) &&
             number(f, "paoendnumber", &r.pao_end_number, io::parse_u16, &why) &&
             number(f, "saostartsuffix", &r.sao_start_suffix, io::parse_suffix, &why) &&
             number(f, "saoendsuffix", &r.sao_end_suffix, io::parse_suffix, &why) &&
             number(f, "paostartsuffix", &r.pao_start_suffix, io::parse_suffix, &why) &&
             number(f, "paoendsuffix", &r.pao_end_suffix, io::parse_suffix, &why);
        if (ok && r.uprn == 0) {
          ok = false;
          why = "missing uprn";
        }
        r.lpi_key = key;
        r.language = language;
        r.sao_text = sao;
        r.pao_text = pao;
        r.area_name = area;
        r.level = level;
        if (ok) sink_.lpi(r);
        break;
      }
      case Kind::street: {
        StreetRecord r;
        r.change = change;
        ok = ok && number(f, "usrn", &r.usrn, io::parse_u32, &why) && number(f, "recordtype", &r.record_type, io::parse_int, &why);
        if (ok && r.usrn == 0) {  // as the CSV loader: a street is known only by its USRN
          ok = false;
          why = "missing usrn";
        }
        if (ok) {
          two_numbers(f.get("streetstart"), &r.start_x, &r.start_y);
          two_numbers(f.get("streetend"), &r.end_x, &r.end_y);
          sink_.street(r);
        }
        break;
      }
      case Kind::descriptor: {
        StreetDescriptorRecord r;
        r.change = change;
        std::string d = f.get("streetdescription"), l = f.get("locality"), t = f.get("townname"),
                    a = f.get("administrativearea"), lang = f.get("language");
        ok = ok && number(f, "usrn", &r.usrn, io::parse_u32, &why);
        if (ok && r.usrn == 0) {
          ok = false;
          why = "missing usrn";
        }
        r.description = d;
        r.locality = l;
        r.town = t;
        r.administrative_area = a;
        r.language = lang;
        if (ok) sink_.street_descriptor(r);
        break;
      }
      case Kind::delivery_point: {
        DeliveryPointRecord r;
        r.change = change;
        std::string org = f.get("organisationname"), sub = f.get("subbuildingname"), building = f.get("buildingname"),
                    thoroughfare = f.get("thoroughfare"), dep = f.get("dependentlocality"), town = f.get("posttown"),
                    postcode = f.get("postcode");
        ok = ok && number(f, "uprn", &r.uprn, io::parse_u64, &why) && number(f, "udprn", &r.udprn, io::parse_u64, &why) &&
             number(f, "buildingnumber", &r.building_number, io::parse_u16, &why);
        r.organisation_name = org;
        r.sub_building_name = sub;
        r.building_name = building;
        r.thoroughfare = thoroughfare;
        r.dependent_locality = dep;
        r.post_town = town;
        r.postcode = postcode;
        if (ok && r.uprn == 0) {
          ok = false;
          why = "missing uprn";
        }
        if (ok) sink_.delivery_point(r);
        break;
      }
      case Kind::classification: {
        ClassificationRecord r;
        r.change = change;
        std::string code = f.get("classificationcode"), scheme = f.get("classscheme");
        ok = ok && number(f, "uprn", &r.uprn, io::parse_u64, &why);
        r.code = code;
        r.scheme = scheme;
        if (ok && r.uprn == 0) {
          ok = false;
          why = "missing uprn";
        }
        if (ok) sink_.classification(r);
        break;
      }
      case Kind::organisation: {
        OrganisationRecord r;
        r.change = change;
        std::string org = f.get("organisation");
        ok = ok && number(f, "uprn", &r.uprn, io::parse_u64, &why);
        r.organisation = org;
        if (ok && r.uprn == 0) {
          ok = false;
          why = "missing uprn";
        }
        if (ok) sink_.organisation(r);
        break;
      }
      case Kind::none:
        return;
    }
    if (ok) {
      ++stats_.records;
    } else {
      stats_.problem(path_, f.line, why);
    }
  }

  std::string path_;
  RecordSink& sink_;
  LoadStats& stats_;
  const x::Locator* locator_ = nullptr;
  std::vector<Frame> frames_;
  std::vector<std::string> path_stack_;
  std::string text_;
};

std::once_flag xerces_init;

}  // namespace

namespace {

Status parse_gml(x::InputSource& source, const std::string& path, RecordSink& sink, LoadStats& stats) {
  std::call_once(xerces_init, [] { x::XMLPlatformUtils::Initialize(); });
  std::unique_ptr<x::SAX2XMLReader> reader(x::XMLReaderFactory::createXMLReader());
  reader->setFeature(x::XMLUni::fgSAX2CoreNameSpaces, true);
  reader->setFeature(x::XMLUni::fgSAX2CoreValidation, false);
  reader->setFeature(x::XMLUni::fgXercesLoadExternalDTD, false);
  reader->setFeature(x::XMLUni::fgXercesSchema, false);
  Handler handler(path, sink, stats);
  reader->setContentHandler(&handler);
  reader->setErrorHandler(&handler);
  reader->setLexicalHandler(&handler);
  reader->setFeature(x::XMLUni::fgXercesDisableDefaultEntityResolution, true);
  try {
    reader->parse(source);
  } catch (const DoctypeRefused& d) {
    stats.problem(path, d.line, "DOCTYPE declarations are not allowed (no DTDs or entities in a gazetteer file)", "DOCTYPE");
  } catch (const x::SAXParseException& e) {
    // Not well-formed: nothing after this point can be trusted, so the load stops here.
    stats.problem(path, static_cast<std::size_t>(e.getLineNumber()), "XML not well-formed: " + utf8(e.getMessage()));
  } catch (const x::XMLException& e) {
    return Error::make("io", "cannot read " + path + ": " + utf8(e.getMessage()), "path");
  }
  return Status::success();
}

}  // namespace

Status load_abp_gml(const std::string& path, RecordSink& sink, LoadStats& stats) {
  {
    std::FILE* probe = std::fopen(path.c_str(), "rb");
    if (probe == nullptr) return Error::make("io", "cannot open " + path, "path");
    std::fclose(probe);
  }
  std::call_once(xerces_init, [] { x::XMLPlatformUtils::Initialize(); });
  XMLCh* file = x::XMLString::transcode(path.c_str());
  std::unique_ptr<x::LocalFileInputSource> source;
  try {
    source = std::make_unique<x::LocalFileInputSource>(file);
  } catch (const x::XMLException& e) {
    x::XMLString::release(&file);
    return Error::make("io", "cannot read " + path + ": " + utf8(e.getMessage()), "path");
  }
  x::XMLString::release(&file);
  return parse_gml(*source, path, sink, stats);
}

Status load_abp_gml_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats) {
  std::call_once(xerces_init, [] { x::XMLPlatformUtils::Initialize(); });
  x::MemBufInputSource source(reinterpret_cast<const XMLByte*>(data.data()), data.size(), name.c_str(), false);
  return parse_gml(source, name, sink, stats);
}

}  // namespace deit::gazetteer
