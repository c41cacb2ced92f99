#include "tests/support/marked_document.hpp"

#include "tests/support/pdf_builder.hpp"

namespace pipeline::testing {

std::string write_marked_pdf(const CliEnv& env, const std::string& marker) {
  const std::string path = env.dir / (marker + ".pdf");
  write_text_pdf(path,
                 {"Case " + marker + "\nA regional dairy put " + marker + " yoghurt pots in corner shops near schools.\n"
                  "Sales per store rose by a third in six months as parents bought them for lunch boxes.",
                  "Why it worked\nSmaller pots at a lower price fitted the lunch box; shops gave them a shelf by the tills."},
                 PdfBuildOptions{"Case " + marker, "", ""});
  return path;
}

int marked_requests(const FakeLlmServer& server, const std::string& marker, const std::string& schema) {
  int count = 0;
  for (const auto& request : server.requests()) {
    if (request.value("/response_format/json_schema/name"_json_pointer, std::string()) != schema) continue;
    if (request.dump().find(marker) != std::string::npos) ++count;
  }
  return count;
}

}  // namespace pipeline::testing
