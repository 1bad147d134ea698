#pragma once
// Loaders for the source formats a UK deployment receives. Each streams its file into a
// RecordSink and never holds the whole file as parsed objects. A malformed line or element
// is recorded in LoadStats (file, line, reason) and skipped; the load goes on. The returned
// Status fails only when the file cannot be read at all.

#include <string>
#include <string_view>

#include "gazetteer/records.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

enum class SourceFormat { abp_csv, abp_gml, open_uprn_csv, simple_csv, unknown };

// From the extension and the first line: .gml/.xml -> GML; a header starting "UPRN," with
// X_COORDINATE -> OS Open UPRN; a header row with "uprn" and "street" -> simple CSV;
// a first field that is an AddressBase record identifier -> AddressBase Premium CSV.
SourceFormat detect_format(const std::string& path);
const char* format_name(SourceFormat format);

// AddressBase Premium CSV: records 10, 11, 15, 21, 23, 24, 28, 29, 30, 31, 32, 99, with
// change types I/U/D (a full supply and change-only updates share the layout). Records 10,
// 23, 29, 30 and 99 are checked for shape and otherwise ignored.
Status load_abp_csv(const std::string& path, RecordSink& sink, LoadStats& stats);

// AddressBase Premium GML 3.2, streamed with Xerces-C++ SAX2.
Status load_abp_gml(const std::string& path, RecordSink& sink, LoadStats& stats);

// OS Open UPRN CSV (header UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE).
Status load_open_uprn_csv(const std::string& path, RecordSink& sink, LoadStats& stats);

// A plain CSV with a header row naming its columns, for tests and small deployments:
// uprn (required), parent_uprn, usrn, sao ("FLAT 2"), pao ("12A", "12-14", "ROSE COTTAGE"),
// organisation, street, locality, town, admin_area, postcode, easting, northing, latitude,
// longitude, custodian, classification, logical_status. Unknown columns are ignored.
Status load_simple_csv(const std::string& path, RecordSink& sink, LoadStats& stats);

// The same loaders over bytes already in memory (fuzzing, tests, a file fetched over the
// network). `name` stands for the file in LoadStats problems. Never fails for lack of a
// file; the CSV loaders still fail on a missing header row as above.
Status load_abp_csv_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats);
Status load_abp_gml_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats);
Status load_open_uprn_csv_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats);
Status load_simple_csv_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats);

// Dispatches on detect_format (or the given format).
Status load_source(const std::string& path, RecordSink& sink, LoadStats& stats,
                   SourceFormat format = SourceFormat::unknown);

}  // namespace deit::gazetteer
