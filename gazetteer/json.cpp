#include "gazetteer/json.hpp"

#include <cmath>

namespace deit::gazetteer {

namespace json = boost::json;

json::object address_json(const Address& a) {
  json::object o;
  o["uprn"] = a.uprn;
  if (a.parent_uprn != 0) o["parent_uprn"] = a.parent_uprn;
  o["usrn"] = a.usrn;
  o["single_line"] = a.single_line();
  auto object = [](const AddressableObject& x) {
    json::object j;
    if (x.start_number != 0) j["start_number"] = x.start_number;
    if (x.start_suffix != 0) j["start_suffix"] = std::string(1, x.start_suffix);
    if (x.end_number != 0) j["end_number"] = x.end_number;
    if (x.end_suffix != 0) j["end_suffix"] = std::string(1, x.end_suffix);
    if (!x.text.empty()) j["text"] = x.text;
    return j;
  };
  if (!a.sao.empty()) o["sao"] = object(a.sao);
  if (!a.pao.empty()) o["pao"] = object(a.pao);
  if (!a.organisation.empty()) o["organisation"] = a.organisation;
  o["street"] = a.street;
  if (!a.locality.empty()) o["locality"] = a.locality;
  o["town"] = a.town;
  if (!a.administrative_area.empty()) o["administrative_area"] = a.administrative_area;
  o["postcode"] = a.postcode;
  if (a.coordinates.known) {
    o["easting"] = a.coordinates.bng.easting;
    o["northing"] = a.coordinates.bng.northing;
    o["latitude"] = a.coordinates.wgs84.latitude;
    o["longitude"] = a.coordinates.wgs84.longitude;
  }
  o["classification"] = a.classification;
  o["logical_status"] = a.logical_status;
  o["local_custodian_code"] = a.local_custodian_code;
  return o;
}

json::object coverage_json(const Coverage& c) {
  json::object o;
  auto list = [](const std::vector<AgencyArea>& v) {
    json::array arr;
    for (const auto& a : v) {
      json::object j;
      j["agency"] = a.agency_id;
      if (!a.name.empty()) j["name"] = a.name;
      j["basis"] = a.basis;
      j["inside"] = a.inside;
      if (a.distance_to_boundary_m >= 0) j["distance_to_boundary_m"] = std::round(a.distance_to_boundary_m);
      arr.push_back(std::move(j));
    }
    return arr;
  };
  o["police"] = list(c.police);
  o["fire"] = list(c.fire);
  o["ambulance"] = list(c.ambulance);
  if (c.local_custodian_code != 0) o["local_custodian_code"] = c.local_custodian_code;
  if (!c.local_authority.empty()) o["local_authority"] = c.local_authority;
  if (c.point) {
    o["easting"] = c.point->easting;
    o["northing"] = c.point->northing;
  }
  return o;
}

json::object candidate_json(const Candidate& c) {
  json::object j = address_json(c.address);
  j["confidence"] = std::round(c.confidence * 1000) / 1000;
  j["explanation"] = c.explanation;
  return j;
}

json::object info_json(const SnapshotInfo& i) {
  return json::object{{"path", i.path},
                      {"addresses", i.addresses},
                      {"uprns", i.uprns},
                      {"streets", i.streets},
                      {"postcodes", i.postcodes},
                      {"delta_upserts", i.delta_upserts},
                      {"delta_deletes", i.delta_deletes},
                      {"built", i.built_unix_time},
                      {"coordinate_method", i.coordinate_method},
                      {"custodians", i.custodians},
                      {"boundary_areas", i.boundary_areas}};
}

}  // namespace deit::gazetteer
