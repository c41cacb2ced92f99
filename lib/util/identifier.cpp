#include "lib/util/identifier.hpp"

namespace pipeline::util {

bool is_valid_identifier(std::string_view id) {
  if (id.empty() || id.size() > k_max_identifier_length) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(id.front())) return false;
  for (char c : id) {
    if (!lower_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return id.find("..") == std::string_view::npos;
}

}  // namespace pipeline::util
