#pragma once
// `deitctl gazetteer <subcommand> ...` (and the stand-alone deit-gazetteer tool).
//
//   build      --out SNAPSHOT [--custodians CSV] [--boundaries GEOJSON]... [--grid-cell M]
//              [--ostn15 GSB] SOURCE...        (AddressBase Premium CSV/GML, OS Open UPRN, simple CSV)
//   match      --snapshot SNAPSHOT [--max N] TEXT...
//              or --sao/--pao/--street/--locality/--town/--postcode for a structured address
//   lookup     --snapshot SNAPSHOT UPRN
//   nearest    --snapshot SNAPSHOT (--lat L --lon L | --easting E --northing N | --aml PAYLOAD) [--k N] [--max-distance M]
//   who-covers --snapshot SNAPSHOT (--uprn U | --lat L --lon L | --easting E --northing N | --aml PAYLOAD) [--border M]
//   update     --snapshot SNAPSHOT COU-FILE...  (change-only updates -> SNAPSHOT.delta)
//   generate   --out DIR (--addresses N | --sample) [--seed S] [--queries Q]
//   aml        PAYLOAD                            (parse and check an AML SMS payload)
//   info       --snapshot SNAPSHOT
//   export     --snapshot SNAPSHOT             (uprn TAB single-line address, for comparisons)
// Common: --json for machine output; --ostn15 GSB for the OSTN15 grid.
// Returns a process exit code: 0 success, 1 failure (the reason on err), 2 usage.

#include <ostream>
#include <string>
#include <vector>

namespace deit::gazetteer {

int gazetteer_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace deit::gazetteer
